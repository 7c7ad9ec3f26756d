package unet

import (
	"fmt"
	"regexp"
	"strconv"
)

var stagePoint = regexp.MustCompile(`^(enc|dec)(\d+)\.act(\d+)$`)

// Points returns the stitch-candidate filter named by points: "all" (every
// vertex; nil) or "stage" (the output of every encoder and decoder stage, as
// in the benchmark's stitch case).
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
			j, _ := strconv.Atoi(sm[3])
			if sm[1] == "enc" {
				return j == cfg.NConvPerStage[s]-1
			}
			return j == cfg.NConvPerStageDecoder[s]-1
		}, nil
	}
	return nil, fmt.Errorf("stitch points %q, want all or stage", points)
}
