package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Backend is what the collector reads devices from. Implementations must
// be safe for concurrent use.
type Backend interface {
	// Devices lists the attached devices without sampling telemetry.
	Devices(ctx context.Context) ([]Info, error)
	// Snapshot samples every device. On a partial failure it returns the
	// devices it could read together with the error.
	Snapshot(ctx context.Context) ([]Device, error)
}

// LoadSource is how the simulator learns how busy the engine on its GPU
// is; engine/sim's server metrics satisfy it. Load must be cheap and safe
// for concurrent use: the simulator calls it on every device read.
type LoadSource interface {
	// Load returns the sequences running and waiting, the KV cache usage
	// (0–1) and the decode throughput in tokens per second.
	Load() (running, waiting int, kvUsage, tokensPerSec float64)
}

// StaticLoad is a LoadSource that never changes; useful in tests and for
// `--simulate-gpus` without an engine attached.
type StaticLoad struct {
	Running, Waiting      int
	KVUsage, TokensPerSec float64
}

// Load implements LoadSource.
func (s StaticLoad) Load() (running, waiting int, kvUsage, tokensPerSec float64) {
	return s.Running, s.Waiting, s.KVUsage, s.TokensPerSec
}

// Options select and tune the backend Open returns.
type Options struct {
	// Simulate > 0 opens that many simulated GPUs instead of the driver.
	Simulate int
	// Model is the model the simulated engine serves; its parameter count
	// ("…-32B") sets the simulated weights' share of memory.
	Model string
	// Load drives the simulated devices; nil means idle.
	Load LoadSource
	// RequireGPU makes Open fail with ErrNoGPU instead of returning an
	// empty Source when no driver or device is present (`worker
	// --require-gpu`: a GPU node whose driver is missing should crash-loop
	// where an operator sees it, not idle as a healthy worker).
	RequireGPU bool
	// Logger receives the one "no GPU" warning, XID events and watcher
	// errors; nil discards.
	Logger *slog.Logger

	// openDriver replaces the real driver in tests (go-nvml's mock).
	openDriver func(context.Context, *slog.Logger) (source, error)
}

// source is a backend that holds resources (NVML handles, a goroutine).
type source interface {
	Backend
	Close() error
}

// Source is an opened backend: the real driver, the simulator, or nothing
// (a node without GPUs). It is safe for concurrent use; Close releases the
// driver and stops the XID watcher.
type Source struct {
	impl      source // nil: no GPUs
	simulated bool
	missing   error // why impl is nil; wraps ErrNoGPU

	mu     sync.Mutex
	closed bool
}

// Open returns the GPUs of this machine, or simulated ones when
// opts.Simulate > 0. A machine without driver or GPU yields an empty
// Source and no error, unless opts.RequireGPU is set; it says why once, at
// warning level, on opts.Logger ("no NVIDIA driver (libnvidia-ml.so.1 not
// found)"), and Missing keeps the reason for callers that print it.
func Open(ctx context.Context, opts Options) (*Source, error) {
	if opts.Simulate < 0 {
		return nil, fmt.Errorf("open gpu: simulate %d: want >= 0", opts.Simulate)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Simulate > 0 {
		impl, err := openSimulated(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("open simulated gpus: %w", err)
		}
		return &Source{impl: impl, simulated: true}, nil
	}
	open := openNVML
	if opts.openDriver != nil {
		open = opts.openDriver
	}
	impl, err := open(ctx, opts.Logger)
	if errors.Is(err, ErrNoGPU) && !opts.RequireGPU {
		opts.Logger.Warn(noGPUMessage(err), "err", err)
		return &Source{missing: err}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open nvml: %w", err)
	}
	return &Source{impl: impl}, nil
}

// noGPUMessage is the warning Open logs for err: the specific reason when
// it is one operators act on, so the log line itself says what to fix.
func noGPUMessage(err error) string {
	switch {
	case errors.Is(err, ErrNoDriver):
		return ErrNoDriver.Error()
	case errors.Is(err, ErrNoCgo):
		return "no GPU support: " + ErrNoCgo.Error()
	}
	return "no gpu"
}

// Simulated reports whether the devices are simulated, so a CLI can say so.
func (s *Source) Simulated() bool { return s.simulated }

// Missing says why the Source has no GPUs (an error wrapping ErrNoGPU,
// and ErrNoDriver or ErrNoCgo where that is the reason); nil when it has.
func (s *Source) Missing() error { return s.missing }

func (s *Source) live() (source, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.impl, nil
}

// Devices implements Backend.
func (s *Source) Devices(ctx context.Context) ([]Info, error) {
	impl, err := s.live()
	if err != nil || impl == nil {
		return nil, err
	}
	return impl.Devices(ctx)
}

// Snapshot implements Backend.
func (s *Source) Snapshot(ctx context.Context) ([]Device, error) {
	impl, err := s.live()
	if err != nil || impl == nil {
		return nil, err
	}
	return impl.Snapshot(ctx)
}

// Close releases the driver; later calls return ErrClosed. It is
// idempotent and returns after the XID watcher has exited.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	impl := s.impl
	s.mu.Unlock()
	if impl == nil {
		return nil
	}
	return impl.Close()
}
