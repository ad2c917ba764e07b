//go:build !cgo

package gpu

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// TestOpenWithoutCgo runs under CGO_ENABLED=0 (`make test` does so): the
// binary builds, and its GPU reader says it was built without cgo.
func TestOpenWithoutCgo(t *testing.T) {
	ctx := context.Background()
	rec := &logRecorder{}
	src, err := Open(ctx, Options{Logger: slog.New(rec)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !errors.Is(src.Missing(), ErrNoCgo) {
		t.Errorf("Missing = %v, want ErrNoCgo", src.Missing())
	}
	if n := rec.count(slog.LevelWarn, "no GPU support: "+ErrNoCgo.Error()); n != 1 {
		t.Errorf("warnings = %d, want 1", n)
	}
	if _, err := Open(ctx, Options{RequireGPU: true}); !errors.Is(err, ErrNoCgo) {
		t.Errorf("Open(RequireGPU) = %v, want ErrNoCgo", err)
	}
	if _, err := Open(ctx, Options{Simulate: 1}); !errors.Is(err, ErrNoSimulation) {
		t.Errorf("Open(Simulate) = %v, want ErrNoSimulation", err)
	}
}
