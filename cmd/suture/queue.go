package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"suture/cluster"
	"suture/experiment"
)

// passwordEnv may hold the NATS password instead of --password (which
// other users of the machine can see in the process list).
const passwordEnv = "SUTURE_NATS_PASSWORD"

// natsPassword is the password given, else $SUTURE_NATS_PASSWORD.
func natsPassword(flag string) string { return cmp.Or(flag, os.Getenv(passwordEnv)) }

// queueFlags adds the flags reaching a NATS server: --queue and the
// authentication and TLS options passed through to the client.
type queueFlags struct {
	url, user, password, nkey, creds, tlsCA, tlsCert, tlsKey *string
}

func addQueueFlags(fs *flag.FlagSet, required bool) *queueFlags {
	what := "NATS server with JetStream, nats://HOST:PORT (tls://HOST:PORT for TLS)"
	if !required {
		what += "; instead of a results folder"
	}
	return &queueFlags{
		url:      fs.String("queue", "", what),
		user:     fs.String("user", "", "NATS user"),
		password: fs.String("password", "", "NATS password (or set "+passwordEnv+")"),
		nkey:     fs.String("nkey", "", "file holding the NATS nkey seed to sign in with"),
		creds:    fs.String("creds", "", "NATS credentials file (user JWT and seed)"),
		tlsCA:    fs.String("tls-ca", "", "CA certificate (PEM) to trust for the server's TLS certificate"),
		tlsCert:  fs.String("tls-cert", "", "client certificate (PEM), for servers that ask for one"),
		tlsKey:   fs.String("tls-key", "", "the client certificate's key (PEM)"),
	}
}

// open connects and opens the queue (ackWait > 0 sets its ack wait).
// With retrying set, a server not reachable is tried again for up to wait
// (0: until ctx ends), and retrying is told why at times.
func (f *queueFlags) open(ctx context.Context, name string, ackWait, wait time.Duration, retrying func(error)) (*cluster.Queue, error) {
	nc, err := cluster.Dial(ctx, cluster.ConnectOptions{URL: *f.url, User: *f.user, Password: natsPassword(*f.password), NkeySeed: *f.nkey, Creds: *f.creds,
		TLSCA: *f.tlsCA, TLSCert: *f.tlsCert, TLSKey: *f.tlsKey, Name: name, Retry: retrying != nil, Wait: wait, Retrying: retrying})
	if err != nil {
		return nil, err
	}
	q, err := cluster.Open(ctx, nc, ackWait)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return q, nil
}

func runQueue(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return usageErr("want the subcommand serve")
	}
	fs := newFlags("queue serve", out)
	listen := fs.String("listen", "127.0.0.1:4222", "address to listen on, HOST:PORT")
	store := fs.String("store", "", "folder for JetStream's files (jobs, records, artifacts; kept across restarts)")
	user := fs.String("user", "", "require this user (with --password)")
	password := fs.String("password", "", "require this password (or set "+passwordEnv+")")
	var nkeys listFlag
	fs.Var(&nkeys, "nkey", "allow the user with this public nkey (U...; repeatable), instead of a password")
	tlsCert := fs.String("tls-cert", "", "server certificate (PEM): speak TLS only")
	tlsKey := fs.String("tls-key", "", "the server certificate's key (PEM)")
	tlsCA := fs.String("tls-ca", "", "CA (PEM) whose client certificates are required (with --tls-verify)")
	tlsVerify := fs.Bool("tls-verify", false, "require client certificates signed by --tls-ca")
	if err := parse(fs, args[1:], "store"); err != nil {
		return err
	}
	pw := natsPassword(*password)
	if *user != "" && pw == "" {
		return usageErr("--user needs --password (or %s)", passwordEnv)
	}
	if _, port, err := net.SplitHostPort(*listen); err != nil {
		return usageErr("--listen %q: want HOST:PORT (%v)", *listen, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usageErr("--listen %q: bad port", *listen)
	}
	s, err := cluster.Serve(cluster.ServeOptions{Listen: *listen, Store: *store, User: *user, Password: pw, Nkeys: nkeys,
		TLSCert: *tlsCert, TLSKey: *tlsKey, TLSCA: *tlsCA, TLSVerify: *tlsVerify})
	if errors.Is(err, experiment.ErrLocked) {
		return fmt.Errorf("--store: %w", err)
	}
	if err != nil {
		return err
	}
	scheme := "nats"
	if *tlsCert != "" {
		scheme = "tls"
	}
	fmt.Fprintf(out, "serving NATS with JetStream on %s://%s (store %s); Ctrl-C stops it\n", scheme, s.Addr(), *store)
	<-ctx.Done()
	s.Shutdown()
	fmt.Fprintln(out, "stopped")
	return nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// partyFlag is --party a=DIR, repeatable.
type partyFlag map[string]string

func (p partyFlag) String() string {
	var s []string
	for k, v := range p {
		s = append(s, k+"="+v)
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func (p partyFlag) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || (name != "a" && name != "b") || dir == "" {
		return fmt.Errorf("%q: want a=DIR or b=DIR", v)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("party %s given twice", name)
	}
	p[name] = dir
	return nil
}

func runWorker(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("worker", out)
	qf := addQueueFlags(fs, true)
	parties := partyFlag{}
	fs.Var(parties, "party", "a party whose data this site holds, PARTY=DIR (a dataset folder or synth: spec; repeatable)")
	jobs := fs.Int("jobs", 1, "jobs to run at once (each gets its share of the cores)")
	allow := fs.String("allow", strings.Join(experiment.Categories, ","), "job categories this site lets run on its data")
	name := fs.String("name", "", "worker name in the queue's records (default HOST-PID)")
	cache := fs.String("cache", "", "folder for job folders (default: a temporary folder, removed on exit)")
	threads := fs.Int("threads", 0, "threads per job (default: the cores divided by --jobs)")
	mkBackend := jobsBackendFlag(fs)
	idleExit := fs.Duration("idle-exit", 0, "stop after this long without a job (0: run until stopped), for workers a scheduler starts; "+
		"it also bounds the wait for the server at start")
	connectTimeout := fs.Duration("connect-timeout", time.Minute, "give up when the server cannot be reached for this long at start (0: keep trying)")
	if err := parse(fs, args, "queue"); err != nil {
		return err
	}
	if *idleExit < 0 {
		return usageErr("--idle-exit must be >= 0")
	}
	if *connectTimeout < 0 {
		return usageErr("--connect-timeout must be >= 0")
	}
	if len(parties) == 0 {
		return usageErr("--party is required (a=DIR and/or b=DIR)")
	}
	// Each party's data is checked now, not when its first job fails.
	if err := cluster.CheckParties(parties); err != nil {
		return usageErr("--party: %v", err)
	}
	if *jobs < 1 || *threads < 0 {
		return usageErr("--jobs must be >= 1 and --threads >= 0")
	}
	cats, err := experiment.ParseCategories(*allow)
	if errors.Is(err, experiment.ErrNoCategory) {
		return usageErr("--allow %q: %v", *allow, err)
	} else if err != nil {
		return usageErr("--allow: %v", err)
	}
	th := *threads
	if th == 0 {
		th = max(1, runtime.GOMAXPROCS(0) / *jobs)
	}
	mk := mkBackend(th)
	logf := cluster.TimedLog(out)
	// The wait for the server ends at --connect-timeout, or sooner at
	// --idle-exit: a worker with no server has no job either.
	wait, waitFlag := *connectTimeout, "--connect-timeout"
	if *idleExit > 0 && (wait == 0 || *idleExit < wait) {
		wait, waitFlag = *idleExit, "--idle-exit"
	}
	until := "until it answers"
	if wait > 0 {
		until = fmt.Sprintf("for up to %s (%s)", wait, waitFlag)
	}
	q, err := qf.open(ctx, *name, 0, wait, func(err error) { logf("%v; trying again %s", err, until) })
	if err != nil {
		if errors.Is(err, cluster.ErrUnreachable) {
			return fmt.Errorf("%w (%s)", err, waitFlag)
		}
		return interrupted(err)
	}
	defer q.Conn().Close()
	err = cluster.RunWorker(ctx, q, cluster.WorkerOptions{Name: *name, Parties: parties, Allow: cats, Jobs: *jobs, Backend: mk, Cache: *cache,
		IdleExit: *idleExit, Log: func(s string) { logf("%s", s) }})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "worker stopped; its unfinished jobs go to other workers")
	return nil
}

// runExperimentQueue is `suture experiment run --queue`.
func runExperimentQueue(ctx context.Context, planPath, dir string, qf *queueFlags, attempts int, ackWait time.Duration, out io.Writer) error {
	// The coordinator needs none of the data: its datasets live at the sites.
	p, err := experiment.LoadStoredPlan(planPath)
	if err != nil {
		return err
	}
	q, err := qf.open(ctx, "suture experiment run", ackWait, 0, nil)
	if err != nil {
		return err
	}
	defer q.Conn().Close()
	start := time.Now()
	fmt.Fprintf(out, "plan %q: %d jobs offered through %s as their inputs exist; start workers with `suture worker --queue %s --party a=DIR`\n",
		p.Name, len(experiment.Jobs(p)), *qf.url, *qf.url)
	err = cluster.RunPlan(ctx, q, p, cluster.QueueRunOptions{MaxAttempts: attempts, Dir: dir, Progress: func(e cluster.RunEvent) {
		cluster.WriteRunEvent(out, time.Since(start), e)
	}})
	if err != nil {
		return interrupted(err)
	}
	where := fmt.Sprintf("`suture experiment report --queue %s --out DIR`", *qf.url)
	if dir != "" {
		where = fmt.Sprintf("%s holds them; `suture experiment report --dir %s --out DIR`", dir, dir)
	}
	fmt.Fprintf(out, "all jobs of plan %q done on the queue; %s writes the report\n", p.Name, where)
	return nil
}
