//go:build cgo

package gpu

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
)

// TestOpenDefaultBuild opens the real driver, as every cgo build now does.
// Without libnvidia-ml.so.1 (CI, this machine) the contract is: Open
// succeeds with no GPUs, says "no NVIDIA driver (libnvidia-ml.so.1 not
// found)" once at warning level, and --require-gpu makes it fatal. With a
// driver it reads every device once.
func TestOpenDefaultBuild(t *testing.T) {
	ctx := context.Background()
	rec := &logRecorder{}
	src, err := Open(ctx, Options{Logger: slog.New(rec)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()
	devs := snapshot(t, src)
	if len(devs) > 0 {
		for _, d := range devs {
			if d.UUID == "" || d.MemoryTotalBytes == 0 || d.MemoryUsedBytes+d.MemoryFreeBytes > d.MemoryTotalBytes {
				t.Errorf("gpu %d: implausible reading %+v", d.Index, d)
			}
		}
		t.Skipf("a driver and %d GPUs here: the no-driver contract is not testable", len(devs))
	}
	if !errors.Is(src.Missing(), ErrNoDriver) {
		t.Skipf("no GPU for another reason than a missing driver: %v", src.Missing())
	}
	if n := rec.count(slog.LevelWarn, "no NVIDIA driver (libnvidia-ml.so.1 not found)"); n != 1 {
		t.Errorf("warnings %q = %d, want exactly 1 (records: %v)", ErrNoDriver, n, rec.records)
	}
	if src.Simulated() {
		t.Error("an empty real source says it is simulated")
	}
	_, err = Open(ctx, Options{RequireGPU: true})
	if !errors.Is(err, ErrNoGPU) || !errors.Is(err, ErrNoDriver) {
		t.Errorf("Open(RequireGPU) = %v, want ErrNoGPU and ErrNoDriver", err)
	}
}

// TestOpenDriverWithoutDevices drives Open with go-nvml's mock of a DGX
// that has no GPUs: a driver, but nothing to read.
func TestOpenDriverWithoutDevices(t *testing.T) {
	ctx := context.Background()
	empty := func(ctx context.Context, l *slog.Logger) (source, error) {
		return newReader(ctx, dgxh100.NewWithGPUs(), l)
	}
	rec := &logRecorder{}
	src, err := Open(ctx, Options{Logger: slog.New(rec), openDriver: empty})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()
	if !errors.Is(src.Missing(), ErrNoGPU) || errors.Is(src.Missing(), ErrNoDriver) {
		t.Errorf("Missing = %v, want ErrNoGPU but not ErrNoDriver", src.Missing())
	}
	if n := rec.count(slog.LevelWarn, "no gpu"); n != 1 {
		t.Errorf("warnings = %d, want 1", n)
	}
	if _, err := Open(ctx, Options{RequireGPU: true, openDriver: empty}); !errors.Is(err, ErrNoGPU) {
		t.Errorf("Open(RequireGPU) with 0 devices = %v, want ErrNoGPU", err)
	}
}

// failingInit is a driver whose library loads but whose Init fails, as
// when the kernel module is not loaded.
type failingInit struct {
	nvml.Interface
	ret nvml.Return
}

func (f failingInit) Init() nvml.Return { return f.ret }

func TestOpenInitFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		ret        nvml.Return
		wantDriver bool
	}{
		{nvml.ERROR_LIBRARY_NOT_FOUND, true},
		{nvml.ERROR_DRIVER_NOT_LOADED, false},
		{nvml.ERROR_NO_PERMISSION, false},
	} {
		t.Run(nvml.ErrorString(tc.ret), func(t *testing.T) {
			open := func(ctx context.Context, l *slog.Logger) (source, error) {
				return newReader(ctx, failingInit{ret: tc.ret}, l)
			}
			_, err := Open(ctx, Options{RequireGPU: true, openDriver: open})
			if !errors.Is(err, ErrNoGPU) || errors.Is(err, ErrNoDriver) != tc.wantDriver {
				t.Errorf("Open = %v; want ErrNoGPU, ErrNoDriver %v", err, tc.wantDriver)
			}
		})
	}
}
