//go:build !cgo

package gpu

import "context"

// openSimulated without cgo: go-nvml's mock devices need cgo.
func openSimulated(context.Context, Options) (source, error) {
	return nil, ErrNoSimulation
}
