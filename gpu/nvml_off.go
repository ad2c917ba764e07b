//go:build !nvml || !cgo

package gpu

import (
	"context"
	"fmt"
	"log/slog"
)

// openNVML without the nvml tag: this binary cannot talk to a driver.
func openNVML(context.Context, *slog.Logger) (source, error) {
	return nil, fmt.Errorf("%w: built without the nvml tag", ErrNoGPU)
}
