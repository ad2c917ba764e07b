//go:build !cgo

package gpu

import (
	"context"
	"fmt"
	"log/slog"
)

// openNVML without cgo: go-nvml reaches the driver through cgo, so this
// binary cannot read GPUs. Open reports why, once, and runs without them.
func openNVML(context.Context, *slog.Logger) (source, error) {
	return nil, fmt.Errorf("%w: %w", ErrNoGPU, ErrNoCgo)
}
