//go:build cgo

package gpu

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// Simulator is a simulation of an H100 node, not a GPU: an nvml.Interface
// built on go-nvml's mock DGX H100 whose telemetry follows the load of a
// simulated engine. It exists so the whole GPU path (reader, XID events,
// collector, exporter, health) runs on machines without a GPU, in tests
// and in `hintfleet demo`.
//
// Utilisation follows running sequences, frame buffer use follows weights
// plus KV cache usage, temperature and power trail utilisation with a lag,
// and faults (XID, ECC, over-temperature) can be injected. It is safe for
// concurrent use.
//
// The mock's identity (name, memory size, architecture) is kept; the
// telemetry methods are overridden on wrapper types rather than through
// the mock's func fields, because moq mocks record every call and a
// long-running simulated exporter would grow without bound.
type Simulator struct {
	lib  *simLib
	devs []*simDevice
}

// SimOption tunes NewSimulator.
type SimOption func(*simConfig) error

type simConfig struct {
	model   string
	load    LoadSource
	maxSeqs int
	now     func() time.Time
	mig     map[int][]string // GPU index → MIG profiles (WithSimMIG)
}

// WithSimModel names the served model; its parameter count sets memory.
func WithSimModel(model string) SimOption {
	return func(c *simConfig) error {
		if model != "" {
			c.model = model
		}
		return nil
	}
}

// WithSimLoad sets the load every device follows until SetLoad.
func WithSimLoad(l LoadSource) SimOption {
	return func(c *simConfig) error {
		if l == nil {
			return fmt.Errorf("sim load: nil LoadSource")
		}
		c.load = l
		return nil
	}
}

// WithSimMaxSeqs sets the running sequences at which a GPU saturates.
func WithSimMaxSeqs(n int) SimOption {
	return func(c *simConfig) error {
		if n <= 0 {
			return fmt.Errorf("sim max seqs %d: want > 0", n)
		}
		c.maxSeqs = n
		return nil
	}
}

// WithSimClock injects the clock the thermal lag runs on, so tests get
// exact values without waiting.
func WithSimClock(now func() time.Time) SimOption {
	return func(c *simConfig) error {
		if now == nil {
			return fmt.Errorf("sim clock: nil func")
		}
		c.now = now
		return nil
	}
}

// NewSimulator builds n simulated H100s, idle unless a load is given.
func NewSimulator(n int, opts ...SimOption) (*Simulator, error) {
	if n <= 0 {
		return nil, fmt.Errorf("new simulator: %d gpus: want > 0", n)
	}
	cfg := simConfig{model: DefaultSimModel, load: StaticLoad{}, maxSeqs: DefaultSimMaxSeqs, now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("new simulator: %w", err)
		}
	}
	srv := dgxh100.NewWithGPUs(gpus.Multiple(n, gpus.H100_SXM5_80GB)...)
	s := &Simulator{}
	for i, d := range srv.Devices {
		s.devs = append(s.devs, &simDevice{
			Device:  d.(*server.Device),
			index:   i,
			uuid:    fmt.Sprintf(simUUIDFormat, i),
			weights: simWeightsBytes(cfg.model),
			maxSeqs: cfg.maxSeqs,
			now:     cfg.now,
			load:    cfg.load,
		})
	}
	for i, profiles := range cfg.mig {
		if i >= n {
			return nil, fmt.Errorf("new simulator: mig on gpu %d of %d", i, n)
		}
		if err := s.devs[i].enableMIG(profiles); err != nil {
			return nil, fmt.Errorf("new simulator: %w", err)
		}
	}
	s.lib = &simLib{Server: srv, devs: s.devs}
	return s, nil
}

// NVML returns the simulated library, for any code written against
// nvml.Interface.
func (s *Simulator) NVML() nvml.Interface { return s.lib }

// Open reads the simulator through the same reader as a real driver.
func (s *Simulator) Open(ctx context.Context, logger *slog.Logger) (*Source, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r, err := newReader(ctx, s.lib, logger)
	if err != nil {
		return nil, fmt.Errorf("open simulator: %w", err)
	}
	return &Source{impl: r, simulated: true}, nil
}

func openSimulated(ctx context.Context, opts Options) (source, error) {
	simOpts := []SimOption{WithSimModel(opts.Model)}
	if opts.Load != nil {
		simOpts = append(simOpts, WithSimLoad(opts.Load))
	}
	s, err := NewSimulator(opts.Simulate, simOpts...)
	if err != nil {
		return nil, err
	}
	return newReader(ctx, s.lib, opts.Logger)
}

func (s *Simulator) dev(i int) (*simDevice, error) {
	if i < 0 || i >= len(s.devs) {
		return nil, fmt.Errorf("simulated gpu %d: want 0..%d", i, len(s.devs)-1)
	}
	return s.devs[i], nil
}

// SetLoad makes GPU i follow l.
func (s *Simulator) SetLoad(i int, l LoadSource) error {
	d, err := s.dev(i)
	if err != nil {
		return err
	}
	if l == nil {
		return fmt.Errorf("simulated gpu %d: nil LoadSource", i)
	}
	d.mu.Lock()
	d.load = l
	d.mu.Unlock()
	return nil
}

// InjectXID raises an XID critical error event on GPU i, delivered through
// the event sets registered on it, as the driver would.
func (s *Simulator) InjectXID(i int, xid uint64) error {
	d, err := s.dev(i)
	if err != nil {
		return err
	}
	d.mu.Lock()
	sets := append([]*simEventSet(nil), d.sets...)
	d.mu.Unlock()
	ev := nvml.EventData{Device: d, EventType: nvml.EventTypeXidCriticalError, EventData: xid,
		GpuInstanceId: math.MaxUint32, ComputeInstanceId: math.MaxUint32}
	for _, set := range sets {
		if !set.post(ev) {
			return fmt.Errorf("simulated gpu %d: xid %d: event queue full", i, xid)
		}
	}
	return nil
}

// InjectECC adds volatile ECC errors to GPU i.
func (s *Simulator) InjectECC(i int, corrected, uncorrected uint64) error {
	d, err := s.dev(i)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.eccCorrected += corrected
	d.eccUncorrected += uncorrected
	d.mu.Unlock()
	return nil
}

// InjectOverTemperature adds extraC to GPU i's reported temperature at
// once (a failed fan, a blocked inlet); 0 clears it.
func (s *Simulator) InjectOverTemperature(i int, extraC uint32) error {
	d, err := s.dev(i)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.extraC = float64(extraC)
	d.mu.Unlock()
	return nil
}

// simLib overrides the mock server's device lookup and events; the rest of
// nvml.Interface is the mock's.
type simLib struct {
	*server.Server
	devs []*simDevice
}

func (l *simLib) Init() nvml.Return     { return nvml.SUCCESS }
func (l *simLib) Shutdown() nvml.Return { return nvml.SUCCESS }

func (l *simLib) DeviceGetCount() (int, nvml.Return) { return len(l.devs), nvml.SUCCESS }

func (l *simLib) DeviceGetHandleByIndex(i int) (nvml.Device, nvml.Return) {
	if i < 0 || i >= len(l.devs) {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return l.devs[i], nvml.SUCCESS
}

func (l *simLib) DeviceGetHandleByUUID(uuid string) (nvml.Device, nvml.Return) {
	for _, d := range l.devs {
		if d.uuid == uuid {
			return d, nvml.SUCCESS
		}
	}
	return nil, nvml.ERROR_NOT_FOUND
}

func (l *simLib) EventSetCreate() (nvml.EventSet, nvml.Return) {
	return &simEventSet{events: make(chan nvml.EventData, simEventQueue), freed: make(chan struct{})}, nvml.SUCCESS
}

// simEventQueue is how many undelivered events a simulated event set
// holds, like the driver's bounded queue.
const simEventQueue = 64

// simEventSet delivers injected events to Wait.
type simEventSet struct {
	mock.EventSet
	events chan nvml.EventData
	once   sync.Once
	freed  chan struct{}
}

func (e *simEventSet) post(ev nvml.EventData) bool {
	select {
	case e.events <- ev:
		return true
	case <-e.freed:
		return true // nobody listens any more; dropping is what the driver does
	default:
		return false
	}
}

func (e *simEventSet) Wait(timeoutMillis uint32) (nvml.EventData, nvml.Return) {
	t := time.NewTimer(time.Duration(timeoutMillis) * time.Millisecond)
	defer t.Stop()
	select {
	case ev := <-e.events:
		return ev, nvml.SUCCESS
	case <-e.freed:
		return nvml.EventData{}, nvml.ERROR_UNINITIALIZED
	case <-t.C:
		return nvml.EventData{}, nvml.ERROR_TIMEOUT
	}
}

func (e *simEventSet) Free() nvml.Return {
	e.once.Do(func() { close(e.freed) })
	return nvml.SUCCESS
}
