package main

import (
	"errors"
	"net"
	"path/filepath"
	"testing"

	"suture/cluster"
	"suture/internal/script"
)

// TestScripts runs the scripts of testdata/script (internal/script says
// their commands), one a subtest, each in its own scratch folder $WORK. A
// script runs the CLI in process (`suture ARGS`); besides the runner's own
// commands it has
//
//	[bf16] LINE       LINE only where the CPU runs BF16 ([!bf16]: only where not)
//	serve [USER PASSWORD]  a NATS server with JetStream: $QUEUE its URL, $ADDR
//	                  its address, $STORE its store; $NOQUEUE a URL nobody answers
//
// and the checks in Go of scriptChecks; $FIXTURES is testdata/nnunet at
// the module root.
func TestScripts(t *testing.T) { script.RunDir(t, filepath.Join("testdata", "script"), cliEngine()) }

// cliEngine runs the CLI in scripts (TestScripts, TestProbe's setup).
func cliEngine() script.Engine {
	fixtures, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "nnunet"))
	cmds := map[string]script.Cmd{"serve": serve}
	for k, v := range scriptChecks {
		cmds[k] = v
	}
	return script.Engine{Name: "suture", Main: run, Env: map[string]string{"FIXTURES": fixtures},
		Conds: map[string]bool{"bf16": probeHasBF16()}, Cmds: cmds}
}

// serve starts a NATS server with JetStream for the script.
func serve(s *script.State, a []string) error {
	if _, ok := s.Env["QUEUE"]; ok {
		return errors.New("one server a script")
	}
	store := filepath.Join(s.Env["WORK"], "store")
	o := cluster.ServeOptions{Listen: "127.0.0.1:0", Store: store}
	if len(a) == 2 {
		o.User, o.Password = a[0], a[1]
	}
	srv, err := cluster.Serve(o)
	if err != nil {
		return err
	}
	s.T.Cleanup(srv.Shutdown)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	l.Close() // nothing listens there
	s.Env["QUEUE"], s.Env["ADDR"], s.Env["STORE"], s.Env["NOQUEUE"] = "nats://"+srv.Addr(), srv.Addr(), store, "nats://"+l.Addr().String()
	return nil
}
