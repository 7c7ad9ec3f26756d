package experiment

import (
	"suture/stitch"
	"suture/unet"
)

// Stitched is a stitched model of two U-Nets (stitch.Joined; load it with
// stitch.Load(path, b, unet.LoadBase)).
type Stitched = stitch.Joined[*unet.Model]
