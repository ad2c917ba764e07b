package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hintfleet/hintfleet/internal/serve"
)

// maxBodyBytes bounds a request body; a prompt near a 128k context is ~1 MB.
const maxBodyBytes = 64 << 20

// shutdownGrace bounds how long Serve waits for handlers after ctx ends;
// they end at once because the engine finishes every stream first.
const shutdownGrace = 5 * time.Second

// Server is one simulated engine server (vLLM unless Config.Dialect says): an http.Handler plus the scheduler
// goroutine that New starts. Close stops the scheduler and waits for it and
// for any Start goroutine. Safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	clock    Clock
	engine   *engine
	metrics  *metrics
	reasoner *Reasoner
	mux      *http.ServeMux
	created  int64
	vocab    vocab
	faults   faultState
	stats    stats

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New validates cfg and starts the simulated engine. The caller must Close
// the server.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dialect == "" {
		cfg.Dialect = DialectVLLM
	}
	o := options{clock: wallClock{}, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	m := newMetrics(cfg.Model, cfg.Dialect)
	s := &Server{
		cfg:      cfg,
		log:      o.logger,
		clock:    o.clock,
		metrics:  m,
		engine:   newEngine(cfg, o.clock, m),
		reasoner: NewReasoner(cfg.Problems, cfg.Reasoner),
		mux:      http.NewServeMux(),
		created:  o.clock.Now().Unix(),
		stop:     make(chan struct{}),
	}
	s.mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	s.registerTokenizer()
	s.mux.HandleFunc("GET /sim/knobs", s.handleGetKnobs)
	s.mux.HandleFunc("POST /sim/knobs", s.handleSetKnobs)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.engine.run(s.stop)
	}()
	return s, nil
}

// ServeHTTP serves the dialect's routes plus /sim/knobs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Model returns the time model as it stands, SlowDown included.
func (s *Server) Model() Model {
	m, _ := s.engine.snapshot()
	return m
}

// Reasoner returns the scripted reasoner, for tests that check its text
// without a server round trip.
func (s *Server) Reasoner() *Reasoner { return s.reasoner }

// Serve serves HTTP on ln until ctx ends or Close is called. Then it stops
// the engine, which ends every open stream, shuts the HTTP server down and
// returns nil. An error from the listener is returned wrapped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	select {
	case <-s.stop:
		_ = ln.Close()
		return ErrClosed
	default:
	}
	// Close (s.stop) ends Serve as ctx does; the watcher is waited for.
	ctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() { cancel(); <-watched }()
	// Stopping the engine first ends every open stream, so the handlers
	// return at once and the shutdown does not wait out the grace.
	err := serve.HTTP(ctx, ln, s, serve.WithGrace(shutdownGrace), serve.WithLogger(s.log), serve.OnShutdown(s.closeStop))
	s.closeStop()
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}

// ListenAndServe listens on addr (port 0 picks one), writes
// "listening on http://HOST:PORT" to announce, so that a script that
// started the server learns the port it got, and serves until ctx ends
// (Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string, announce io.Writer) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	if _, err := fmt.Fprintf(announce, "listening on http://%s\n", ln.Addr()); err != nil {
		return errors.Join(fmt.Errorf("sim: announce: %w", err), ln.Close())
	}
	return s.Serve(ctx, ln)
}

// Run is `hintfleet sim-engine`: it starts an engine of cfg (New),
// serves it on addr until ctx ends (ListenAndServe, which announces the
// address) and closes it.
func Run(ctx context.Context, cfg Config, addr string, announce io.Writer) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.ListenAndServe(ctx, addr, announce)
}

// Start listens on addr ("127.0.0.1:0" for any port) and serves in a
// goroutine that Close waits for. It returns the base URL, http://host:port.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	select {
	case <-s.stop:
		return "", ErrClosed
	default:
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.Serve(ctx, ln); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the engine, ending every open request, and waits for the
// scheduler and any Start goroutine to exit. It is idempotent.
func (s *Server) Close() error {
	s.closeStop()
	s.wg.Wait()
	return nil
}

func (s *Server) closeStop() { s.closeOnce.Do(func() { close(s.stop) }) }

// Knobs are the settings /sim/knobs reads and changes at run time. A POST
// changes only the fields it carries.
type Knobs struct {
	SlowDown  *float64 `json:"slow_down,omitempty"`
	ErrorRate *float64 `json:"error_rate,omitempty"`
	DropRate  *float64 `json:"drop_rate,omitempty"`
	SpikeRate *float64 `json:"spike_rate,omitempty"`
	SpikeMS   *float64 `json:"spike_ms,omitempty"`
	// Inject makes every request that starts from now on end the way named
	// (InjectAbort, InjectErrorEvent, …; "" for none) once it has generated
	// InjectAfter tokens.
	Inject      *string `json:"inject,omitempty"`
	InjectAfter *int    `json:"inject_after,omitempty"`
	// Down makes /health and completions answer 503 (true) until cleared.
	Down *bool `json:"down,omitempty"`
}

// SetKnobs applies k, after checking every field.
func (s *Server) SetKnobs(k Knobs) error {
	var errs []error
	prob := func(name string, p *float64) {
		if p != nil && !(*p >= 0 && *p <= 1) {
			errs = append(errs, fmt.Errorf("%w: %s must be in [0, 1], got %v", ErrInvalidConfig, name, *p))
		}
	}
	prob("error_rate", k.ErrorRate)
	prob("drop_rate", k.DropRate)
	prob("spike_rate", k.SpikeRate)
	if k.SlowDown != nil && !(*k.SlowDown >= 1) {
		errs = append(errs, fmt.Errorf("%w: slow_down must be >= 1, got %v", ErrInvalidConfig, *k.SlowDown))
	}
	if k.SpikeMS != nil && !(*k.SpikeMS >= 0) {
		errs = append(errs, fmt.Errorf("%w: spike_ms must be >= 0, got %v", ErrInvalidConfig, *k.SpikeMS))
	}
	if k.Inject != nil {
		errs = append(errs, validInjection(*k.Inject))
	}
	if k.InjectAfter != nil && *k.InjectAfter < 0 {
		errs = append(errs, fmt.Errorf("%w: inject_after must be >= 0, got %d", ErrInvalidConfig, *k.InjectAfter))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, f := s.engine.snapshot()
	set := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.ErrorRate, k.ErrorRate)
	set(&f.DropRate, k.DropRate)
	set(&f.SpikeRate, k.SpikeRate)
	if k.SpikeMS != nil {
		f.SpikeDuration = time.Duration(*k.SpikeMS * float64(time.Millisecond))
	}
	s.engine.setFaults(f)
	s.faults.mu.Lock()
	if k.Inject != nil {
		s.faults.inject.kind = *k.Inject
	}
	if k.InjectAfter != nil {
		s.faults.inject.after = *k.InjectAfter
	}
	if k.Down != nil {
		s.faults.down = *k.Down
	}
	s.faults.mu.Unlock()
	if k.SlowDown != nil {
		s.engine.setSlowDown(*k.SlowDown)
	}
	return nil
}

// SetSlowDown multiplies every step from the next one on by f (>= 1).
func (s *Server) SetSlowDown(f float64) error { return s.SetKnobs(Knobs{SlowDown: &f}) }

// CurrentKnobs returns the knobs as they stand.
func (s *Server) CurrentKnobs() Knobs {
	m, f := s.engine.snapshot()
	spike := float64(f.SpikeDuration) / float64(time.Millisecond)
	s.faults.mu.Lock()
	inj, down := s.faults.inject, s.faults.down
	s.faults.mu.Unlock()
	return Knobs{SlowDown: &m.SlowDown, ErrorRate: &f.ErrorRate, DropRate: &f.DropRate,
		SpikeRate: &f.SpikeRate, SpikeMS: &spike, Inject: &inj.kind, InjectAfter: &inj.after, Down: &down}
}

func (s *Server) handleGetKnobs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.CurrentKnobs())
}

func (s *Server) handleSetKnobs(w http.ResponseWriter, r *http.Request) {
	var k Knobs
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("decode knobs: %v", err))
		return
	}
	if err := s.SetKnobs(k); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.CurrentKnobs())
}

// newCompletionID returns an id in vLLM's form, "cmpl-" and 32 hex digits.
func newCompletionID() string {
	return fmt.Sprintf("cmpl-%016x%016x", rand.Uint64(), rand.Uint64())
}
