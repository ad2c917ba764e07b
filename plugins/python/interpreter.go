package python

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// Version is reported by Describe.
const Version = "0.1.0"

// Interpreter is the python tool: sessions backed by sandboxed interpreters
// from a warm pool. It implements plugins.Tool and is safe for concurrent
// use; Stop releases everything.
type Interpreter struct {
	cfg    config
	launch *launch
	pool   *pool

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	ttlWG    sync.WaitGroup // TTL expiries in flight
}

var _ plugins.Tool = (*Interpreter)(nil)

// session is one trajectory's interpreter. lock serialises its calls; the
// interpreter itself may be killed at any time (Close, TTL, Stop), which
// makes a call in flight return.
type session struct {
	id         string
	trajectory string
	stateless  bool
	proc       *proc // nil when stateless
	lock       chan struct{}
	timer      *time.Timer

	mu         sync.Mutex
	deadReason string
	current    *proc // a stateless session's interpreter while it runs
}

// New prepares the sandbox (plugins/sandbox: bubblewrap found, started
// once as an unprivileged user, the seccomp filter built), starts one
// interpreter to prove that Python starts and the preloads import in it,
// and then the warm pool. Without bubblewrap it returns ErrNoSandbox unless
// sandbox.WithInsecureNoSandbox is given (WithSandboxOptions). Stop the
// Interpreter when done.
func New(opts ...Option) (*Interpreter, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("python tool option: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.startTimeout)
	defer cancel()
	if _, err := os.Stat(cfg.python); err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	l, err := newLaunch(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	first, err := l.start(ctx)
	if err != nil {
		if !l.sb.Insecure() {
			return nil, fmt.Errorf("%w: probe interpreter: %v", ErrNoSandbox, err)
		}
		return nil, fmt.Errorf("probe interpreter: %w", err)
	}
	return &Interpreter{
		cfg:      cfg,
		launch:   l,
		pool:     newPool(l, cfg.poolSize, first, cfg.logger),
		sessions: make(map[string]*session),
	}, nil
}

// Describe implements plugins.Tool.
func (i *Interpreter) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Name:      "python",
		Version:   Version,
		Languages: []string{"python", "py", "python3"},
		Limits:    i.cfg.limits,
	}, nil
}

// Open implements plugins.Tool. A stateful session takes a warm interpreter
// now; a stateless one takes a fresh interpreter on every Exec. Open waits
// for the pool at most the start timeout.
func (i *Interpreter) Open(ctx context.Context, req plugins.OpenRequest) (string, error) {
	if req.TTL < 0 {
		return "", fmt.Errorf("open session: ttl %v: %w", req.TTL, plugins.ErrInvalidRequest)
	}
	if i.isClosed() {
		return "", ErrClosed
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = i.cfg.sessionTTL
	}
	s := &session{
		id:         rand.Text(),
		trajectory: req.Trajectory,
		stateless:  req.Stateless,
		lock:       make(chan struct{}, 1),
	}
	if !req.Stateless {
		ctx, cancel := context.WithTimeout(ctx, i.cfg.startTimeout)
		defer cancel()
		pr, err := i.pool.get(ctx)
		if err != nil {
			return "", fmt.Errorf("open session for %q: %w", req.Trajectory, err)
		}
		s.proc = pr
	}
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		s.kill()
		return "", ErrClosed
	}
	i.sessions[s.id] = s
	s.timer = time.AfterFunc(ttl, func() { i.expire(s.id) })
	i.mu.Unlock()
	i.cfg.logger.Debug("session open", "session", s.id, "trajectory", req.Trajectory, "stateless", req.Stateless)
	return s.id, nil
}

// Exec implements plugins.Tool. The call's wall time is req.Timeout capped
// by the tool's Limits.Timeout. When the result's ErrorKind is timeout,
// killed or crashed the session's interpreter is gone, and later calls on
// the session fail with ErrSessionDead; other sessions are unaffected.
func (i *Interpreter) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	if req.Timeout < 0 {
		return plugins.ExecResult{}, fmt.Errorf("exec: timeout %v: %w", req.Timeout, plugins.ErrInvalidRequest)
	}
	s, err := i.lookup(req.Session)
	if err != nil {
		return plugins.ExecResult{}, fmt.Errorf("exec: %w", err)
	}
	select {
	case s.lock <- struct{}{}:
		defer func() { <-s.lock }()
	case <-ctx.Done():
		return plugins.ExecResult{}, fmt.Errorf("exec in session %s: %w", s.id, context.Cause(ctx))
	}
	timeout := i.cfg.limits.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	pr := s.proc
	if s.stateless {
		if pr, err = i.pool.get(ctx); err != nil {
			return plugins.ExecResult{}, fmt.Errorf("exec in session %s: %w", s.id, err)
		}
		s.mu.Lock()
		s.current = pr
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.current = nil
			s.mu.Unlock()
			pr.kill()
		}()
	} else if pr.dead() {
		s.mu.Lock()
		reason := s.deadReason
		s.mu.Unlock()
		if reason == "" {
			reason = "closed"
		}
		return plugins.ExecResult{}, fmt.Errorf("exec in session %s (%s): %w", s.id, reason, ErrSessionDead)
	}
	res, err := pr.exec(ctx, req.Code, timeout, false)
	if !s.stateless && pr.dead() {
		s.mu.Lock()
		s.deadReason = fmt.Sprintf("%s: %s", res.ErrorKind, res.Error)
		s.mu.Unlock()
		i.cfg.logger.Info("session interpreter died", "session", s.id, "trajectory", s.trajectory, "kind", res.ErrorKind)
	}
	return res, err
}

// Close implements plugins.Tool: it kills the session's interpreter and
// returns once nothing of it runs. A call in flight returns with kind killed.
func (i *Interpreter) Close(_ context.Context, id string) error {
	i.mu.Lock()
	s, ok := i.sessions[id]
	delete(i.sessions, id)
	i.mu.Unlock()
	if !ok {
		return fmt.Errorf("close session %q: %w", id, plugins.ErrUnknownSession)
	}
	s.timer.Stop()
	s.kill()
	i.cfg.logger.Debug("session closed", "session", id, "trajectory", s.trajectory)
	return nil
}

// Stop closes every session, stops the pool's refill workers and kills
// every interpreter, and returns once all are gone. Later calls fail with
// ErrClosed. Safe to call more than once.
func (i *Interpreter) Stop() {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return
	}
	i.closed = true
	sessions := i.sessions
	i.sessions = nil
	i.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		s.timer.Stop()
		wg.Go(s.kill)
	}
	wg.Wait()
	i.pool.stop()
	i.ttlWG.Wait()
}

// expire closes a session whose TTL ran out.
func (i *Interpreter) expire(id string) {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return
	}
	s, ok := i.sessions[id]
	delete(i.sessions, id)
	i.ttlWG.Add(1)
	i.mu.Unlock()
	defer i.ttlWG.Done()
	if ok {
		i.cfg.logger.Info("session ttl expired", "session", id, "trajectory", s.trajectory)
		s.kill()
	}
}

func (i *Interpreter) lookup(id string) (*session, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil, ErrClosed
	}
	s, ok := i.sessions[id]
	if !ok {
		return nil, fmt.Errorf("session %q: %w", id, plugins.ErrUnknownSession)
	}
	return s, nil
}

func (i *Interpreter) isClosed() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.closed
}

// kill kills the session's interpreter, or a stateless session's current
// one, and waits for it.
func (s *session) kill() {
	s.mu.Lock()
	pr := s.proc
	if pr == nil {
		pr = s.current
	}
	s.mu.Unlock()
	if pr != nil {
		pr.kill()
	}
}
