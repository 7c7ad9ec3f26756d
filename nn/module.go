package nn

import (
	"fmt"

	"suture/autograd"
)

// Module is one call in a network: it maps its inputs (by argument position)
// to one output.
type Module interface {
	// Forward computes the output on tape t.
	Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error)
	// Params lists the module's parameters and buffers.
	Params() []*Param
	// Kind names the operation ("conv", "norm", "act", "convT", "concat", ...).
	Kind() string
}

// TrainingModule is a module whose forward pass differs between training and
// evaluation (batch norm).
type TrainingModule interface {
	Module
	SetTraining(training bool)
}

func oneInput(kind string, in []*autograd.Var) (*autograd.Var, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, fmt.Errorf("%s: takes one input, got %d", kind, len(in))
	}
	return in[0], nil
}
