package ckpt

// RunInfo records where a checkpointed model's training data came from: the
// data spec, the cross-validation fold and split seed, and the training seed.
// U-Net and stitched checkpoints both store it.
type RunInfo struct {
	Data      string `json:"data"`
	Fold      int    `json:"fold"`
	SplitSeed uint64 `json:"split_seed"`
	Seed      uint64 `json:"seed"`
}

// Kind returns the model kind recorded under the "kind" meta key ("unet",
// "stitched", ...); a checkpoint without one is not a Suture model.
func (c *Checkpoint) Kind() (string, error) {
	var kind string
	if err := c.GetMeta("kind", &kind); err != nil {
		return "", err
	}
	return kind, nil
}
