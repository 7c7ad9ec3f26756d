package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
	s *server.Server
}

// Serve starts a NATS server with JetStream on file storage in o.Store,
// for users with no NATS installation (any NATS server with JetStream
// enabled serves the queue the same way).
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
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("NATS server on %s did not start", o.Listen)
	}
	if !s.JetStreamEnabled() {
		s.Shutdown()
		return nil, errors.New("NATS server started without JetStream")
	}
	return &Server{s: s}, nil
}

// URL is the address clients connect to.
func (s *Server) URL() string { return s.s.ClientURL() }

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if a, ok := s.s.Addr().(*net.TCPAddr); ok {
		return a.String()
	}
	return s.s.Addr().String()
}

// Shutdown stops the server (what it stored stays in its store folder).
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
