package ckpt

import (
	"encoding/json"
	"errors"
	"fmt"

	"suture/tensor"
)

// Checkpoint is the content of one checkpoint file.
type Checkpoint struct {
	// Meta holds caller-defined JSON values by key, for example "kind",
	// "config", "epoch". Use SetMeta and GetMeta to go to and from Go values.
	Meta map[string]json.RawMessage
	// Tensors in the order they are written; names are unique and non-empty.
	Tensors []Named
}

// Named is a host tensor with its name in the checkpoint.
type Named struct {
	Name string
	// T: any shape; host memory (T.Data), float32.
	T *tensor.Tensor
}

// ErrNoMeta is returned (wrapped) by GetMeta when the key is absent.
var ErrNoMeta = errors.New("no such meta entry")

// SetMeta stores v, encoded as JSON, under key.
func (c *Checkpoint) SetMeta(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ckpt: meta %q: %w", key, err)
	}
	if c.Meta == nil {
		c.Meta = make(map[string]json.RawMessage)
	}
	c.Meta[key] = raw
	return nil
}

// GetMeta decodes the JSON value under key into v (a pointer). A missing key
// gives an error wrapping ErrNoMeta.
func (c *Checkpoint) GetMeta(key string, v any) error {
	raw, ok := c.Meta[key]
	if !ok {
		return fmt.Errorf("ckpt: meta %q: %w", key, ErrNoMeta)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("ckpt: meta %q: %w", key, err)
	}
	return nil
}

// Find returns the tensor with the given name, or nil and false.
func (c *Checkpoint) Find(name string) (*tensor.Tensor, bool) {
	for _, n := range c.Tensors {
		if n.Name == name {
			return n.T, true
		}
	}
	return nil, false
}
