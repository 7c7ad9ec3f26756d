package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"suture/experiment"
)

// ServeOptions configure an embedded NATS server.
type ServeOptions struct {
	// Listen is HOST:PORT (port 0: a free one).
	Listen string
	// Store is the folder of JetStream's file storage: jobs, records and
	// artifacts survive a restart on the same folder.
	Store string
	// User and Password, when set, are required of every client.
	User, Password string
	// Nkeys are public nkeys (U...) allowed in, in place of a password.
	Nkeys []string
	// TLSCert and TLSKey make the server speak TLS only; TLSCA with
	// TLSVerify also asks clients for certificates signed by it.
	TLSCert, TLSKey, TLSCA string
	TLSVerify              bool
}

// Server is a running embedded NATS server with JetStream.
type Server struct {
	s    *server.Server
	lock *experiment.Lock
}

// startWait bounds how long Serve waits for the server to listen.
const startWait = 30 * time.Second

// Serve starts a NATS server with JetStream on file storage in o.Store,
// for users with no NATS installation (any NATS server with JetStream
// enabled serves the queue the same way). The store is locked while the
// server runs: a second server on the same store is refused, naming the
// one that holds it (two servers on one store would each overwrite what
// the other stores).
func Serve(o ServeOptions) (*Server, error) {
	host, portStr, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: want HOST:PORT (%v)", o.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("listen address %q: bad port", o.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if o.Store == "" {
		return nil, errors.New("no store folder for JetStream")
	}
	if err := os.MkdirAll(o.Store, 0o755); err != nil {
		return nil, err
	}
	if (o.User == "") != (o.Password == "") {
		return nil, errors.New("give both a user and a password, or neither")
	}
	opts := &server.Options{Host: host, Port: port, JetStream: true, StoreDir: o.Store, NoSigs: true, NoLog: true,
		Username: o.User, Password: o.Password, ServerName: "suture", MaxPayload: 8 << 20}
	for _, k := range o.Nkeys {
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: k})
	}
	if len(o.Nkeys) > 0 && o.User != "" {
		// The server takes users and nkeys together only from a
		// configuration file; keep to one way.
		return nil, errors.New("give a user and password or nkeys, not both")
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: o.TLSCert, KeyFile: o.TLSKey, CaFile: o.TLSCA, Verify: o.TLSVerify})
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify = cfg, true, o.TLSVerify
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	lock, err := experiment.LockFile(filepath.Join(o.Store, ".lock"), "store "+o.Store, "suture queue serve on "+o.Listen)
	if err != nil {
		return nil, err
	}
	// The server reports why it cannot start (a port in use, an address
	// not of this machine, a store it cannot write) only to its logger.
	fatal := &fatalLog{c: make(chan string, 1)}
	s.SetLogger(fatal, false, false)
	go s.Start()
	fail := func(err error) (*Server, error) {
		s.Shutdown()
		s.WaitForShutdown()
		lock.Unlock()
		return nil, err
	}
	for deadline := time.Now().Add(startWait); !s.ReadyForConnections(100 * time.Millisecond); {
		select {
		case msg := <-fatal.c:
			return fail(fmt.Errorf("NATS server on %s: %s", o.Listen, msg))
		default:
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("NATS server on %s did not start within %s", o.Listen, startWait))
		}
	}
	if !s.JetStreamEnabled() { // enabled before the server listens
		return fail(errors.New("NATS server started without JetStream"))
	}
	return &Server{s: s, lock: lock}, nil
}

// fatalLog keeps the server's first fatal error (a server that cannot
// listen tells only its logger) and drops everything else.
type fatalLog struct {
	once sync.Once
	c    chan string
}

func (l *fatalLog) Fatalf(format string, v ...any) {
	l.once.Do(func() { l.c <- strings.TrimSpace(fmt.Sprintf(format, v...)) })
}
func (l *fatalLog) Noticef(string, ...any) {}
func (l *fatalLog) Warnf(string, ...any)   {}
func (l *fatalLog) Errorf(string, ...any)  {}
func (l *fatalLog) Debugf(string, ...any)  {}
func (l *fatalLog) Tracef(string, ...any)  {}

// URL is the address clients connect to.
func (s *Server) URL() string { return s.s.ClientURL() }

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if a, ok := s.s.Addr().(*net.TCPAddr); ok {
		return a.String()
	}
	return s.s.Addr().String()
}

// Shutdown stops the server (what it stored stays in its store folder)
// and releases its store.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
	s.lock.Unlock()
}
