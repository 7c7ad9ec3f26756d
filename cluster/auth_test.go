package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

// canOpen connects with o and opens the queue.
func canOpen(o ConnectOptions) error {
	nc, err := Connect(o)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Open(ctx, nc, 0)
	return err
}

func TestUserPassword(t *testing.T) {
	srv, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: t.TempDir(), User: "site", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := "nats://" + srv.Addr()
	if err := canOpen(ConnectOptions{URL: url}); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("no password: %v", err)
	}
	if err := canOpen(ConnectOptions{URL: url, User: "site", Password: "wrong"}); err == nil {
		t.Error("a wrong password was let in")
	}
	if err := canOpen(ConnectOptions{URL: url, User: "site", Password: "s3cret"}); err != nil {
		t.Error(err)
	}
}

func TestNkey(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: t.TempDir(), Nkeys: []string{pub}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := "nats://" + srv.Addr()
	if err := canOpen(ConnectOptions{URL: url}); err == nil {
		t.Error("a client without the nkey was let in")
	}
	if err := canOpen(ConnectOptions{URL: url, NkeySeed: seedFile}); err != nil {
		t.Error(err)
	}
	if err := canOpen(ConnectOptions{URL: url, NkeySeed: filepath.Join(t.TempDir(), "missing.nk")}); err == nil || !strings.Contains(err.Error(), "missing.nk") {
		t.Errorf("missing seed file: %v", err)
	}
}

// TestTLS: a server speaking TLS with a certificate of a private CA; a
// client trusting that CA gets in, one that does not is refused.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "suture test CA")
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	cert, key := newCert(t, ca, caKey, "127.0.0.1")
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", cert.Raw)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "server-key.pem"), "EC PRIVATE KEY", kb)
	srv, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: filepath.Join(dir, "store"), TLSCert: filepath.Join(dir, "server.pem"),
		TLSKey: filepath.Join(dir, "server-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := "tls://" + srv.Addr()
	if err := canOpen(ConnectOptions{URL: url}); err == nil {
		t.Error("a client that does not trust the server's CA connected")
	}
	if err := canOpen(ConnectOptions{URL: url, TLSCA: filepath.Join(dir, "ca.pem")}); err != nil {
		t.Error(err)
	}
	if err := canOpen(ConnectOptions{URL: url, TLSCert: filepath.Join(dir, "server.pem")}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("a certificate without its key: %v", err)
	}
}

// newCert makes a certificate for name (an IP address, or a CA when
// parent is nil) signed by parent.
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if parent == nil {
		tpl.IsCA, tpl.BasicConstraintsValid = true, true
		tpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
		parent, parentKey = tpl, key
	} else {
		tpl.IPAddresses = []net.IP{net.ParseIP(name)}
		tpl.KeyUsage = x509.KeyUsageDigitalSignature
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWrongPasswordRetrying: a worker (which retries an absent server)
// told a wrong or no password hears that authorization failed, at once.
func TestWrongPasswordRetrying(t *testing.T) {
	srv, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: t.TempDir(), User: "site", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := "nats://" + srv.Addr()
	for _, pw := range []string{"wrong", ""} {
		err := canOpen(ConnectOptions{URL: url, User: "site", Password: pw, Retry: true})
		if err == nil || !strings.Contains(err.Error(), "authorization failed") || strings.Contains(err.Error(), "JetStream") {
			t.Errorf("password %q: %v", pw, err)
		}
	}
}
