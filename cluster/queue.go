// Package cluster runs a plan's jobs (package experiment) on a NATS
// JetStream work queue, so that each party's data stays at its site: a
// job that reads a party's data goes only to a worker holding that data,
// and only models and scores travel. The coordinator (RunPlan) offers each
// job once its inputs exist; workers (RunWorker) take the jobs their site
// allows, run the same job code as the local runner on a local copy of the
// job's folder, and store its files in a JetStream object store under the
// job's key. Federated averaging runs its two parties on two sites in
// lock-step, exchanging weights through the queue once per round.
//
// The queue's state is all in JetStream (file storage on the server): the
// job tokens in a work-queue stream, the plans, job records and worker
// registrations in key-value buckets, the artifacts in an object store.
// Any NATS server with JetStream serves; Serve starts an embedded one.
package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"suture/experiment"
)

// Names of the queue's JetStream resources.
const (
	streamName    = "SUTURE_JOBS"
	subjectPrefix = "suture.job."
	plansBucket   = "suture-plans"
	jobsBucket    = "suture-jobs"
	workersBucket = "suture-workers"
	objectBucket  = "suture-artifacts"
)

// DefaultAckWait is how long a job may go without a heartbeat from its
// worker before it is offered again; a running job's worker sends one
// every third of it.
const DefaultAckWait = time.Minute

// Default bounds on the server's answers: a request unanswered for
// requestTimeout is tried again (one sent as the server went down is
// lost), and so is an artifact transfer that moves no byte for
// stallTimeout.
const (
	requestTimeout = 10 * time.Second
	stallTimeout   = 30 * time.Second
)

// ConnectOptions say how to reach and authenticate to a NATS server. They
// are passed through to the client: user and password, an nkey seed file,
// a credentials file (JWT), and TLS (a CA to trust, a client certificate).
type ConnectOptions struct {
	URL            string
	User, Password string
	NkeySeed       string // file holding an nkey seed
	Creds          string // credentials file (user JWT and seed)
	TLSCA          string // CA certificate file to trust (PEM)
	TLSCert        string // client certificate and key files (PEM), for mutual TLS
	TLSKey         string
	Name           string // shown by the server's monitoring
	// Retry keeps trying when the server cannot be reached at first (a
	// worker may start before the server); otherwise that is an error. A
	// server that refuses the credentials is never tried again.
	Retry bool
	// Wait, with Retry, is how long to keep trying before giving up (0:
	// until the context ends).
	Wait time.Duration
	// Retrying, with Retry, is told why the server cannot be reached: at
	// the first failed try, then about every retryNote.
	Retrying func(err error)
}

// ErrUnreachable is wrapped by Dial's error when it gave up waiting for the
// server.
var ErrUnreachable = errors.New("gave up waiting for the server")

// retryNote is how often Dial says it is still trying; retryPause is the
// pause between tries.
const (
	retryNote  = 10 * time.Second
	retryPause = time.Second
)

// Connect is Dial without a context.
func Connect(o ConnectOptions) (*nats.Conn, error) { return Dial(context.Background(), o) }

// Dial opens a connection that reconnects for ever when the server goes
// away once connected (a restarted server loses nothing the queue
// stored). The first connection is tried once, or with o.Retry until it
// succeeds, the server refuses the credentials, o.Wait has passed or ctx
// ends.
func Dial(ctx context.Context, o ConnectOptions) (*nats.Conn, error) {
	if o.URL == "" {
		return nil, errors.New("no NATS server address (want nats://HOST:PORT)")
	}
	opts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.Timeout(5 * time.Second)}
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.NkeySeed != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NkeySeed)
		if err != nil {
			return nil, fmt.Errorf("nkey seed %s: %w", o.NkeySeed, err)
		}
		opts = append(opts, opt)
	}
	if o.Creds != "" {
		if _, err := os.Stat(o.Creds); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.TLSCA != "" || o.TLSCert != "" || o.TLSKey != "" {
		cfg, err := clientTLS(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	start := time.Now()
	var told time.Time
	for {
		nc, err := nats.Connect(o.URL, opts...)
		if err == nil {
			return nc, nil
		}
		if isAuthErr(err) {
			return nil, authErr(o.URL, err)
		}
		if errors.Is(err, nats.ErrNoServers) {
			err = dialCause(o.URL, err)
		}
		err = fmt.Errorf("NATS server %s: %w", o.URL, err)
		if !o.Retry {
			return nil, err
		}
		if o.Wait > 0 && time.Since(start) >= o.Wait {
			return nil, fmt.Errorf("%w: %w after %s", err, ErrUnreachable, o.Wait)
		}
		if o.Retrying != nil && time.Since(told) >= retryNote {
			o.Retrying(err)
			told = time.Now()
		}
		pause := retryPause
		if o.Wait > 0 {
			pause = max(min(pause, o.Wait-time.Since(start)), time.Millisecond)
		}
		if !sleepCtx(ctx, pause) {
			return nil, fmt.Errorf("%w (stopped waiting: %w)", err, ctx.Err())
		}
	}
}

// dialCause finds why a server is not reachable (the client says only
// that none was): the error of a plain TCP connection to its address, or
// err when that connects.
func dialCause(url string, err error) error {
	addr := url
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	if i := strings.LastIndex(addr, "@"); i >= 0 {
		addr = addr[i+1:]
	}
	addr, _, _ = strings.Cut(addr, ",")
	if _, _, serr := net.SplitHostPort(addr); serr != nil {
		addr = net.JoinHostPort(addr, "4222")
	}
	c, derr := net.DialTimeout("tcp", addr, 5*time.Second)
	if derr != nil {
		return derr
	}
	c.Close()
	return err
}

func isAuthErr(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
		errors.Is(err, nats.ErrAccountAuthExpired)
}

func authErr(url string, err error) error {
	return fmt.Errorf("NATS server %s: authorization failed: it refused the user and password, nkey or credentials given (%w)", url, err)
}

// openErr says what failed in opening the queue's resource what: the
// credentials (the server closes the connection), JetStream missing on
// the server, or else err.
func openErr(nc *nats.Conn, what string, err error) error {
	if last := nc.LastError(); last != nil && isAuthErr(last) {
		return authErr(strings.Join(nc.Opts.Servers, ","), last)
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return fmt.Errorf("%s: %w (the NATS server runs without JetStream: start it with JetStream enabled, or use `suture queue serve`)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func clientTLS(o ConnectOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSCA != "" {
		pem, err := os.ReadFile(o.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s: no PEM certificate in it", o.TLSCA)
		}
		cfg.RootCAs = pool
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("a TLS client certificate needs both its certificate and its key file")
	}
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Queue is an open connection to the queue's resources.
type Queue struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	plans   jetstream.KeyValue
	jobs    jetstream.KeyValue
	workers jetstream.KeyValue
	store   jetstream.ObjectStore
	cons    map[string]jetstream.Consumer // class -> consumer
	// timeout bounds one request, stall one artifact transfer's silence.
	timeout, stall time.Duration
}

// opCtx bounds one request to the server.
func (q *Queue) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, q.timeout)
}

// Open makes sure the queue's stream, consumers, buckets and object store
// exist and opens them. ackWait > 0 sets the consumers' ack wait (the
// coordinator's choice); 0 keeps what is there (DefaultAckWait for new
// ones).
func Open(ctx context.Context, nc *nats.Conn, ackWait time.Duration) (*Queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*requestTimeout)
	defer cancel()
	q := &Queue{nc: nc, js: js, cons: map[string]jetstream.Consumer{}, timeout: requestTimeout, stall: stallTimeout}
	// One token per job (or federated party) at a time: a second offer of a
	// job still queued is refused by the server, whoever makes it.
	q.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: streamName, Subjects: []string{subjectPrefix + ">"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew,
		DiscardNewPerSubject: true, MaxMsgsPerSubject: 1, Description: "Suture's job tokens, one per job and class"})
	if err != nil {
		return nil, openErr(nc, "JetStream stream "+streamName, err)
	}
	for _, b := range []struct {
		kv   *jetstream.KeyValue
		name string
	}{{&q.plans, plansBucket}, {&q.jobs, jobsBucket}, {&q.workers, workersBucket}} {
		if *b.kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b.name, Storage: jetstream.FileStorage}); err != nil {
			return nil, openErr(nc, "JetStream bucket "+b.name, err)
		}
	}
	if q.store, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: objectBucket, Storage: jetstream.FileStorage,
		Description: "Suture's job artifacts, by job key"}); err != nil {
		return nil, openErr(nc, "JetStream object store "+objectBucket, err)
	}
	for _, class := range allClasses() {
		cfg := jetstream.ConsumerConfig{Durable: consumerName(class), FilterSubject: subjectPrefix + class + ".>",
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: -1, MaxAckPending: -1}
		var c jetstream.Consumer
		if ackWait > 0 {
			c, err = q.stream.CreateOrUpdateConsumer(ctx, cfg)
		} else if c, err = q.stream.Consumer(ctx, cfg.Durable); errors.Is(err, jetstream.ErrConsumerNotFound) {
			cfg.AckWait = DefaultAckWait
			c, err = q.stream.CreateConsumer(ctx, cfg)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				c, err = q.stream.Consumer(ctx, cfg.Durable)
			}
		}
		if err != nil {
			return nil, openErr(nc, "JetStream consumer "+cfg.Durable, err)
		}
		q.cons[class] = c
	}
	return q, nil
}

// Conn is the queue's connection.
func (q *Queue) Conn() *nats.Conn { return q.nc }

// ackWait is the ack wait of the consumer named name (as set now).
func (q *Queue) ackWait(ctx context.Context, name string) time.Duration {
	for class, c := range q.cons {
		if consumerName(class) != name {
			continue
		}
		ctx, cancel := q.opCtx(ctx)
		info, err := c.Info(ctx)
		cancel()
		if err != nil {
			info = c.CachedInfo()
		}
		if info != nil && info.Config.AckWait > 0 {
			return info.Config.AckWait
		}
	}
	return DefaultAckWait
}

// A class is the kind of worker a job token needs: the parties whose data
// it reads and what it does ("a.stitch", "ab.train" for pooled data,
// "none.select", and "a.fed" / "b.fed" for one party of federated
// averaging). Each class has its own consumer, so a worker subscribes to
// exactly the jobs its site holds the data for and allows.
const (
	catSelect = "select"
	catFed    = "fed"
)

func allClasses() []string {
	var out []string
	for _, ps := range []string{"a", "b"} {
		for _, c := range experiment.Categories {
			out = append(out, ps+"."+c)
		}
		out = append(out, ps+"."+catFed)
	}
	return append(out, "ab."+experiment.CatTrain, "none."+catSelect)
}

func consumerName(class string) string { return "suture-" + strings.ReplaceAll(class, ".", "-") }

// classOf is the class of job j's token (for federated averaging, of
// party's token).
func classOf(j *experiment.Job, party string) string {
	if j.Kind == experiment.KindFedAvg {
		return party + "." + catFed
	}
	if len(j.Parties) == 0 {
		return "none." + catSelect
	}
	ps := slices.Clone(j.Parties)
	slices.Sort(ps)
	return strings.Join(ps, "") + "." + j.Category()
}

// tokens are the (class, party) pairs under which job j is offered.
func tokens(j *experiment.Job) [][2]string {
	if j.Kind == experiment.KindFedAvg {
		return [][2]string{{classOf(j, "a"), "a"}, {classOf(j, "b"), "b"}}
	}
	return [][2]string{{classOf(j, ""), ""}}
}

// token is a job offer on the queue.
type token struct {
	Plan  string `json:"plan"` // plan id: its record in the plans bucket
	Key   string `json:"key"`
	ID    string `json:"id"`
	Party string `json:"party,omitempty"` // federated averaging: which party's side
}

func tokenSubject(class string, t token) string {
	s := subjectPrefix + class + "." + t.Key
	if t.Party != "" {
		s += "." + t.Party
	}
	return s
}

// planID names a plan in the queue: a digest of its name (a plan's name is
// its identity: an edited plan must get a new name once scored).
func planID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:8])
}

// planRecord is a plan as the queue stores it.
type planRecord struct {
	Name        string          `json:"name"`
	Plan        json.RawMessage `json:"plan"`
	MaxAttempts int             `json:"max_attempts"`
}

// Records in the jobs bucket, under done.KEY, failed.KEY, tries.KEY,
// run.KEY (run.KEY.PARTY for federated averaging) and fed.KEY.*.

// doneRecord is a finished job: its files are stored as KEY/NAME.
type doneRecord struct {
	ID      string     `json:"id"`
	Key     string     `json:"key"`
	Worker  string     `json:"worker"`
	Seconds float64    `json:"seconds"`
	At      time.Time  `json:"at"`
	Files   []fileInfo `json:"files"`
}

type fileInfo struct {
	Name   string `json:"name"`
	Size   uint64 `json:"size"`
	Digest string `json:"digest"` // SHA-256=base64url, as the object store records it
}

// triesRecord counts a job's failed attempts; failedRecord parks it.
type triesRecord struct {
	ID       string    `json:"id"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	Worker   string    `json:"worker"`
	At       time.Time `json:"at"`
}

// runRecord is a job (or one federated party) in progress, refreshed at
// every heartbeat.
type runRecord struct {
	ID      string    `json:"id"`
	Worker  string    `json:"worker"`
	Party   string    `json:"party,omitempty"`
	Started time.Time `json:"started"`
	At      time.Time `json:"at"`
	Frac    float64   `json:"frac"`
	Note    string    `json:"note,omitempty"`
	AckWait float64   `json:"ack_wait_s"`
}

// workerRecord registers a live worker (refreshed every workerBeat).
type workerRecord struct {
	Name    string    `json:"name"`
	Host    string    `json:"host"`
	Parties []string  `json:"parties"`
	Allow   []string  `json:"allow"`
	Jobs    int       `json:"jobs"`
	At      time.Time `json:"at"`
}

// workerBeat is how often a worker refreshes its registration; one silent
// for workerGone is taken for gone.
const (
	workerBeat = 2 * time.Second
	workerGone = 10 * time.Second
)

func (q *Queue) getJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (bool, error) {
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(e.Value()) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, fmt.Errorf("queue record %s: %w", key, err)
	}
	return true, nil
}

func (q *Queue) putJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	_, err = kv.Put(ctx, key, b)
	return err
}

// createJSON writes key only if it does not exist; it reports false when
// it did.
func (q *Queue) createJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (bool, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	_, err = kv.Create(ctx, key, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	return err == nil, err
}

func (q *Queue) del(ctx context.Context, kv jetstream.KeyValue, key string) error {
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	err := kv.Delete(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// keys lists a bucket's keys matching filter (nil when there are none).
func (q *Queue) keys(ctx context.Context, kv jetstream.KeyValue, filter string) ([]string, error) {
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	l, err := kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	_ = l.Stop() // the lister stops itself once it has listed everything
	return out, nil
}

// snapshot reads every live key of a bucket matching filter with its
// value, in one stream from the server (one round trip, however many keys:
// the coordinator may be far from the server).
func (q *Queue) snapshot(ctx context.Context, kv jetstream.KeyValue, filter string) (map[string][]byte, error) {
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	w, err := kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	out := map[string][]byte{}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("the server ended the listing")
			}
			if e == nil {
				return out, nil // the current values are all in
			}
			out[e.Key()] = e.Value()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// publish offers a token; an offer of a token still queued is refused by
// the server (one message per subject) and is not an error.
func (q *Queue) publish(ctx context.Context, class string, t token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	_, err = q.js.Publish(ctx, tokenSubject(class, t), b)
	if err != nil && strings.Contains(err.Error(), "maximum messages per subject") {
		return nil
	}
	return err
}

// errNoPlan is wrapped by storedPlan's error for a plan id not stored.
var errNoPlan = errors.New("the queue holds no plan")

// storedPlan reads the plan with id from the queue.
func (q *Queue) storedPlan(ctx context.Context, id string) (*experiment.Plan, *planRecord, error) {
	var rec planRecord
	ok, err := q.getJSON(ctx, q.plans, id, &rec)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w %s", errNoPlan, id)
	}
	p, err := experiment.ParseStoredPlan(rec.Plan, "plan "+rec.Name)
	if err != nil {
		return nil, nil, err
	}
	return p, &rec, nil
}

// Plans lists the names of the plans the queue holds.
func (q *Queue) Plans(ctx context.Context) ([]string, error) {
	ids, err := q.keys(ctx, q.plans, ">")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, id := range ids {
		var rec planRecord
		if ok, err := q.getJSON(ctx, q.plans, id, &rec); err != nil {
			return nil, err
		} else if ok {
			names = append(names, rec.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Plan reads a plan from the queue by name; "" picks the only one.
func (q *Queue) Plan(ctx context.Context, name string) (*experiment.Plan, error) {
	if name == "" {
		names, err := q.Plans(ctx)
		if err != nil {
			return nil, err
		}
		switch len(names) {
		case 0:
			return nil, errors.New("the queue holds no plan (a coordinator running a plan puts it there)")
		case 1:
			name = names[0]
		default:
			return nil, fmt.Errorf("the queue holds %d plans (%s): name one", len(names), strings.Join(names, ", "))
		}
	}
	p, _, err := q.storedPlan(ctx, planID(name))
	if errors.Is(err, errNoPlan) {
		names, lerr := q.Plans(ctx)
		held := "none"
		if lerr == nil && len(names) > 0 {
			held = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("the queue holds no plan named %q (it holds: %s)", name, held)
	}
	return p, err
}
