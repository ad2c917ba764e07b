//go:build cgo

package gpu

import (
	"context"
	"log/slog"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// openNVML reads the real driver; it is in every cgo build. nvml.New only
// records where the library is: dlopen of libnvidia-ml.so.1 happens in
// Init, whose failure the reader maps to ErrNoGPU (ErrNoDriver when the
// library is missing), so the binary links no driver and a node without
// one starts fine and reports no GPUs.
func openNVML(ctx context.Context, logger *slog.Logger) (source, error) {
	return newReader(ctx, nvml.New(), logger)
}
