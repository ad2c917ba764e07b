//go:build nvml && cgo

package gpu

import (
	"context"
	"log/slog"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// openNVML reads the real driver. nvml.New only records where the library
// is; dlopen happens in Init, whose failure the reader maps to ErrNoGPU, so
// a node without a driver starts fine and reports no GPUs.
func openNVML(ctx context.Context, logger *slog.Logger) (source, error) {
	return newReader(ctx, nvml.New(), logger)
}
