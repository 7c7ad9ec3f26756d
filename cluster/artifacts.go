package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Artifacts live in the object store under "KEY/NAME" (a finished job's
// files), "KEY.resume/NAME" (an unfinished job's latest checkpoint) and
// "fed/KEY/ROUND/PARTY" (a federated party's weights after a round). The
// store records each object's SHA-256; a download is checked against it.

func artifactName(key, file string) string { return key + "/" + file }
func resumeName(key, file string) string   { return key + ".resume/" + filepath.ToSlash(file) }

// digestOf is the object store's digest notation of a SHA-256 sum.
func digestOf(h hash.Hash) string {
	return "SHA-256=" + base64.URLEncoding.EncodeToString(h.Sum(nil))
}

// fileDigest is the SHA-256 of a file, in the object store's notation.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return digestOf(h), nil
}

// putFile stores the file at path as object name.
func (q *Queue) putFile(ctx context.Context, name, path string) (fileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileInfo{}, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*opTimeout)
	defer cancel()
	info, err := q.store.Put(ctx, jetstream.ObjectMeta{Name: name}, f)
	if err != nil {
		return fileInfo{}, fmt.Errorf("storing %s: %w", name, err)
	}
	return fileInfo{Name: name, Size: info.Size, Digest: info.Digest}, nil
}

// errNoObject is returned by getFile for a missing object.
var errNoObject = errors.New("no such artifact")

// getFile fetches object name into path (atomically) and checks its
// SHA-256 against the digest the store recorded (and against want, when
// given: the digest of the job record). A file already at path with that
// digest is kept as it is.
func (q *Queue) getFile(ctx context.Context, name, path, want string) error {
	ictx, cancel := context.WithTimeout(ctx, opTimeout)
	info, err := q.store.GetInfo(ictx, name)
	cancel()
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("%s: %w", name, errNoObject)
	}
	if err != nil {
		return fmt.Errorf("artifact %s: %w", name, err)
	}
	if want != "" && info.Digest != want {
		return fmt.Errorf("artifact %s: stored with SHA-256 %s, the job record says %s", name, info.Digest, want)
	}
	if d, err := fileDigest(path); err == nil && d == info.Digest {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	gctx, cancel := context.WithTimeout(ctx, 10*opTimeout)
	defer cancel()
	obj, err := q.store.Get(gctx, name)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("artifact %s: %w", name, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), obj)
	obj.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("artifact %s: %w", name, err)
	}
	if err := checkDigest(name, info.Digest, digestOf(h)); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// checkDigest compares a download's digest with the stored one.
func checkDigest(name, stored, got string) error {
	if !strings.HasPrefix(stored, "SHA-256=") {
		return fmt.Errorf("artifact %s: the store records no SHA-256 (%q)", name, stored)
	}
	if got != stored {
		return fmt.Errorf("artifact %s: downloaded bytes have SHA-256 %s, the store recorded %s: not using them", name, got, stored)
	}
	return nil
}

// putBytes and getBytes carry a federated round's weights.
func (q *Queue) putBytes(ctx context.Context, name string, b []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*opTimeout)
	defer cancel()
	info, err := q.store.PutBytes(ctx, name, b)
	if err != nil {
		return "", fmt.Errorf("storing %s: %w", name, err)
	}
	return info.Digest, nil
}

func (q *Queue) getBytes(ctx context.Context, name, want string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*opTimeout)
	defer cancel()
	obj, err := q.store.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%s: %w", name, errNoObject)
	}
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", name, err)
	}
	defer obj.Close()
	info, err := obj.Info()
	if err != nil {
		return nil, err
	}
	if want != "" && info.Digest != want {
		return nil, fmt.Errorf("artifact %s: stored with SHA-256 %s, its record says %s", name, info.Digest, want)
	}
	h := sha256.New()
	b, err := io.ReadAll(io.TeeReader(obj, h))
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", name, err)
	}
	if err := checkDigest(name, info.Digest, digestOf(h)); err != nil {
		return nil, err
	}
	return b, nil
}

func (q *Queue) deleteObject(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := q.store.Delete(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	return err
}
