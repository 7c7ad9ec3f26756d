package cluster

import (
	"bytes"
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
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"suture/internal/atomicfile"
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

// errIntegrity marks a transfer that failed for a reason trying again
// does not cure (missing object, wrong digest).
var errIntegrity = errors.New("artifact integrity")

// errNoObject is returned for a missing object.
var errNoObject = fmt.Errorf("%w: no such artifact", errIntegrity)

// transfer runs f, whose context is cancelled when f reports no progress
// for q.stall, and tries it again (up to five times) when it fails for a
// reason other than integrity: a request or a stream lost while the
// server restarted is given up on, not waited for.
func (q *Queue) transfer(ctx context.Context, what string, f func(ctx context.Context, progress func()) error) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 && !sleepCtx(ctx, time.Duration(attempt)*250*time.Millisecond) {
			return ctx.Err()
		}
		tctx, cancel := context.WithCancel(ctx)
		var mu sync.Mutex
		last := time.Now()
		progress := func() {
			mu.Lock()
			last = time.Now()
			mu.Unlock()
		}
		stop := make(chan struct{})
		go func() {
			t := time.NewTicker(max(q.stall/10, 10*time.Millisecond))
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					mu.Lock()
					silent := time.Since(last)
					mu.Unlock()
					if silent > q.stall {
						cancel()
						return
					}
				}
			}
		}()
		err = f(tctx, progress)
		close(stop)
		cancel()
		if err == nil || errors.Is(err, errIntegrity) || ctx.Err() != nil {
			break
		}
	}
	if err != nil && !errors.Is(err, errIntegrity) {
		err = fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// progressReader and progressWriter report each read or write.
type progressReader struct {
	r io.Reader
	p func()
}

func (r progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p()
	return n, err
}

type progressWriter struct {
	w io.Writer
	p func()
}

func (w progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p()
	return n, err
}

// putFile stores the file at path as object name.
func (q *Queue) putFile(ctx context.Context, name, path string) (fileInfo, error) {
	var fi fileInfo
	err := q.transfer(ctx, "storing "+name, func(ctx context.Context, progress func()) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%w: %v", errIntegrity, err)
		}
		defer f.Close()
		info, err := q.store.Put(ctx, jetstream.ObjectMeta{Name: name}, progressReader{f, progress})
		if err != nil {
			return err
		}
		fi = fileInfo{Name: name, Size: info.Size, Digest: info.Digest}
		return nil
	})
	return fi, err
}

// getFile fetches object name into path (atomically) and checks its
// SHA-256 against the digest the store recorded (and against want, when
// given: the digest of the job record). A file already at path with that
// digest is kept as it is.
func (q *Queue) getFile(ctx context.Context, name, path, want string) error {
	return q.transfer(ctx, "fetching "+name, func(ctx context.Context, progress func()) error {
		ictx, cancel := q.opCtx(ctx)
		info, err := q.store.GetInfo(ictx, name)
		cancel()
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("%s: %w", name, errNoObject)
		}
		if err != nil {
			return err
		}
		if want != "" && info.Digest != want {
			return fmt.Errorf("%w: %s: stored with SHA-256 %s, the job record says %s", errIntegrity, name, info.Digest, want)
		}
		if d, err := fileDigest(path); err == nil && d == info.Digest {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("%w: %v", errIntegrity, err)
		}
		tmp, err := atomicfile.Create(path)
		if err != nil {
			return fmt.Errorf("%w: %v", errIntegrity, err)
		}
		defer tmp.Abort()
		obj, err := q.store.Get(ctx, name)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(progressWriter{io.MultiWriter(tmp, h), progress}, obj)
		obj.Close()
		if err != nil {
			return err
		}
		if err := checkDigest(name, info.Digest, digestOf(h)); err != nil {
			return err
		}
		return tmp.Commit()
	})
}

// checkDigest compares a download's digest with the stored one.
func checkDigest(name, stored, got string) error {
	if !strings.HasPrefix(stored, "SHA-256=") {
		return fmt.Errorf("%w: %s: the store records no SHA-256 (%q)", errIntegrity, name, stored)
	}
	if got != stored {
		return fmt.Errorf("%w: %s: downloaded bytes have SHA-256 %s, the store recorded %s: not using them", errIntegrity, name, got, stored)
	}
	return nil
}

// putBytes and getBytes carry a federated round's weights.
func (q *Queue) putBytes(ctx context.Context, name string, b []byte) (string, error) {
	var digest string
	err := q.transfer(ctx, "storing "+name, func(ctx context.Context, progress func()) error {
		info, err := q.store.Put(ctx, jetstream.ObjectMeta{Name: name}, progressReader{bytes.NewReader(b), progress})
		if err == nil {
			digest = info.Digest
		}
		return err
	})
	return digest, err
}

func (q *Queue) getBytes(ctx context.Context, name, want string) ([]byte, error) {
	var out []byte
	err := q.transfer(ctx, "fetching "+name, func(ctx context.Context, progress func()) error {
		obj, err := q.store.Get(ctx, name)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("%s: %w", name, errNoObject)
		}
		if err != nil {
			return err
		}
		defer obj.Close()
		info, err := obj.Info()
		if err != nil {
			return err
		}
		if want != "" && info.Digest != want {
			return fmt.Errorf("%w: %s: stored with SHA-256 %s, its record says %s", errIntegrity, name, info.Digest, want)
		}
		h := sha256.New()
		var buf bytes.Buffer
		if _, err := io.Copy(progressWriter{io.MultiWriter(&buf, h), progress}, obj); err != nil {
			return err
		}
		if err := checkDigest(name, info.Digest, digestOf(h)); err != nil {
			return err
		}
		out = buf.Bytes()
		return nil
	})
	return out, err
}

func (q *Queue) deleteObject(ctx context.Context, name string) error {
	ctx, cancel := q.opCtx(ctx)
	defer cancel()
	err := q.store.Delete(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	return err
}
