package unet

import (
	"fmt"
	"regexp"
	"strconv"
)

var stagePoint = regexp.MustCompile(`^(enc|dec)(\d+)\.(?:act(\d+)|b(\d+)\.act)$`)

// Points returns the stitch-candidate filter named by points: "all" (every
// vertex; nil) or "stage" (the output of every encoder and decoder stage, as
// in the benchmark's stitch case; for the residual encoder the output of
// each stage's last block).
func (m *Model) Points(points string) (func(v int) bool, error) {
	g, cfg := m.Graph, m.Config
	switch points {
	case "", "all":
		return nil, nil
	case "stage":
		return func(v int) bool {
			sm := stagePoint.FindStringSubmatch(g.Vertices[v].Name)
			if sm == nil {
				return false
			}
			s, _ := strconv.Atoi(sm[2])
			if sm[4] != "" { // a residual block's output
				j, _ := strconv.Atoi(sm[4])
				return cfg.Encoder == EncoderResidual && j == cfg.NConvPerStage[s]-1
			}
			j, _ := strconv.Atoi(sm[3])
			if cfg.Encoder == EncoderResidual && sm[1] == "enc" {
				return false
			}
			if sm[1] == "enc" {
				return j == cfg.NConvPerStage[s]-1
			}
			return j == cfg.NConvPerStageDecoder[s]-1
		}, nil
	}
	return nil, fmt.Errorf("stitch points %q, want all or stage", points)
}
