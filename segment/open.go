package segment

import (
	"fmt"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// Opened is a model checkpoint of any kind, read onto a backend: a U-Net
// (trained here or imported), or a stitched model (a stitched checkpoint,
// or one network extracted from one) with the network chosen. Open is the
// one place that dispatches on a checkpoint's kind: Load builds on it, and
// so does package experiment's evaluation.
type Opened struct {
	// Kind is the checkpoint's: unet.Kind, stitch.Kind or stitch.ExtractedKind.
	Kind string
	// UNet is the network of a U-Net checkpoint (nil for the other kinds).
	UNet *unet.Loaded
	// Stitched and Setting are the stitched model and the network chosen
	// in it (an extracted network's own), for the other kinds.
	Stitched *stitch.Joined[*unet.Model]
	Setting  stitch.Setting
	// Net names the network: the choice given to Open ("ensemble" when
	// none was) for a stitched checkpoint, the setting of an extracted
	// network, "" for a U-Net.
	Net string
}

// OneNetworkError is Open's error when a network is chosen (net) for a
// checkpoint that is one network (a U-Net or an extracted network); a
// command line adds the name of its flag.
type OneNetworkError struct {
	Name, Kind, Net string
}

func (e *OneNetworkError) Error() string {
	return fmt.Sprintf("%s: a %s checkpoint is one network; a network choice (%q) applies to stitched checkpoints only", e.Name, e.Kind, e.Net)
}

// Open reads any Suture model checkpoint at path onto backend b. net picks
// the network of a stitched checkpoint (see Load); its errors are
// *stitch.NetError, and a net given for a checkpoint of another kind is a
// *OneNetworkError.
func Open(path string, b kernels.Backend, net string) (*Opened, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint(path, c, b, net)
}

// FromCheckpoint is Open of a decoded checkpoint; name (a path) prefixes
// errors.
func FromCheckpoint(name string, c *ckpt.Checkpoint, b kernels.Backend, net string) (*Opened, error) {
	kind, err := c.Kind()
	if err != nil {
		return nil, fmt.Errorf("%s: not a Suture model checkpoint: %w", name, err)
	}
	if net != "" && kind != stitch.Kind {
		return nil, &OneNetworkError{Name: name, Kind: kind, Net: net}
	}
	o := &Opened{Kind: kind}
	switch kind {
	case unet.Kind:
		if o.UNet, err = unet.FromCheckpoint(name, c, b); err != nil {
			return nil, err
		}
		return o, nil
	case stitch.Kind:
		if o.Stitched, err = stitch.FromCheckpoint(name, c, b, unet.LoadBase); err != nil {
			return nil, err
		}
		if o.Net = net; net == "" {
			o.Net = "ensemble"
		}
		if o.Setting, err = stitch.ParseNet(o.Net, o.Stitched.M.Pairs()); err != nil {
			return nil, err
		}
		return o, nil
	case stitch.ExtractedKind:
		if o.Stitched, o.Setting, err = stitch.FromExtracted(name, c, b, unet.LoadBase); err != nil {
			return nil, err
		}
		o.Net = o.Setting.String()
		return o, nil
	}
	return nil, fmt.Errorf("%s: unknown model kind %q", name, kind)
}

// Run is the training run the model came from, as its checkpoint records
// it (a stitched model's: the stitch training's).
func (o *Opened) Run() ckpt.RunInfo {
	if o.UNet != nil {
		return o.UNet.Meta.Run
	}
	return o.Stitched.Meta.Run
}

// Model makes the Model that segments with the opened network.
func (o *Opened) Model() (*Model, error) {
	if o.UNet != nil {
		return FromUNet(o.UNet.Model), nil
	}
	return FromStitched(o.Stitched, o.Setting)
}
