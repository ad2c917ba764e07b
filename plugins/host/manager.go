package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hintfleet/hintfleet/plugins"
)

// Manager runs a set of tool plugins and routes code to them by fence
// language. It is safe for concurrent use. Close stops every plugin and the
// goroutines that watch them, and waits for both.
type Manager struct {
	opts      options
	instances []*instance
	routes    map[string]*routedTool // fence language → tool

	cancel context.CancelFunc
	wg     sync.WaitGroup // one supervise loop per started instance

	closeOnce sync.Once
	mu        sync.Mutex
	closed    bool
}

// PluginInfo is what List reports about one plugin.
type PluginInfo struct {
	Name      string        `json:"name"`
	Version   string        `json:"version"`
	Languages []string      `json:"languages"`
	Path      string        `json:"path"`
	Checksum  ChecksumState `json:"checksum"`
	SHA256    string        `json:"sha256"` // of the file on disk
	Healthy   bool          `json:"healthy"`
	Restarts  int           `json:"restarts"`
	PID       int           `json:"pid,omitempty"`
	// Error is why the plugin is down, if it is.
	Error string `json:"error,omitempty"`
}

// New verifies and starts every plugin in specs, learns their languages from
// Describe (or the config's Languages), and starts watching them.
//
// A plugin whose checksum is wrong or missing is refused alone: it is
// logged as an error that says how to fix it (`make plugins`, or the
// config line to change), listed by List with that error, never started
// or routed, and calls for its languages fail with ErrNoTool naming it;
// the other plugins run. A plugin that fails to start makes New fail,
// stopping the others, unless KeepGoing is set. Two plugins claiming one
// language is always an error. ctx bounds the starts only; the plugins run
// until Close.
func New(ctx context.Context, specs []PluginConfig, opts ...Option) (*Manager, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("plugin manager option: %w", err)
		}
	}
	if err := Validate(specs); err != nil {
		return nil, fmt.Errorf("plugin config: %w", err)
	}
	m := &Manager{opts: o, routes: make(map[string]*routedTool)}
	for _, spec := range specs {
		in := newInstance(spec, &m.opts)
		m.instances = append(m.instances, in)
		if err := in.start(ctx); err != nil {
			if refused(err) {
				in.logger.Error("plugin refused; the others keep running", "path", spec.Path, "err", err)
				continue
			}
			if !o.keepGoing {
				m.stopAll()
				return nil, err
			}
			// Kept for List, which reports err; not logged twice.
		}
	}
	var errs []error
	for _, in := range m.instances {
		if p, _ := in.current(); p == nil {
			continue
		}
		rt := &routedTool{in: in, m: m}
		for _, lang := range in.desc.Languages {
			if prev, ok := m.routes[lang]; ok {
				errs = append(errs, fmt.Errorf("language %q claimed by plugins %s and %s", lang, prev.in.spec.Name, in.spec.Name))
				continue
			}
			m.routes[lang] = rt
		}
	}
	if err := errors.Join(errs...); err != nil {
		m.stopAll()
		return nil, fmt.Errorf("route plugins: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	for _, in := range m.instances {
		if p, _ := in.current(); p == nil {
			continue // refused or failed at start: listed, never restarted
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			in.supervise(sctx)
		}()
	}
	return m, nil
}

// Tool returns the tool for a code fence's language ("python", "py"; case
// and surrounding space ignored). Sessions opened through it belong to the
// plugin process that opened them: after a restart, calls on them fail with
// ErrStaleSession.
func (m *Manager) Tool(lang string) (plugins.Tool, bool) {
	rt, ok := m.routes[normLang(lang)]
	if !ok {
		return nil, false
	}
	return rt, true
}

// Lookup is Tool with an error that says why there is none: ErrNoTool,
// naming the languages routed and every plugin that is down with its
// reason (a refused checksum says how to fix it).
func (m *Manager) Lookup(lang string) (plugins.Tool, error) {
	if t, ok := m.Tool(lang); ok {
		return t, nil
	}
	lang = normLang(lang)
	msg := fmt.Sprintf("%v %q (have %s)", ErrNoTool, lang, strings.Join(m.Languages(), ", "))
	var down []string
	for _, in := range m.instances {
		_, err := in.current()
		if err == nil {
			continue
		}
		if slices.ContainsFunc(in.spec.Languages, func(l string) bool { return normLang(l) == lang }) {
			// The config routes lang to this plugin: it is the one missing.
			return nil, &noToolError{msg: fmt.Sprintf("%v %q: %v", ErrNoTool, lang, err)}
		}
		down = append(down, err.Error())
	}
	if len(down) > 0 {
		msg += "; down: " + strings.Join(down, "; ")
	}
	return nil, &noToolError{msg: msg}
}

// noToolError is Lookup's message; it matches ErrNoTool.
type noToolError struct{ msg string }

func (e *noToolError) Error() string { return e.msg }
func (e *noToolError) Unwrap() error { return ErrNoTool }

// refused reports whether err is a checksum refusal, which stops one
// plugin and never the manager.
func refused(err error) bool {
	return errors.Is(err, ErrChecksumMismatch) || errors.Is(err, ErrNoChecksum)
}

// Languages lists the fence languages routed, sorted.
func (m *Manager) Languages() []string {
	langs := make([]string, 0, len(m.routes))
	for l := range m.routes {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	return langs
}

// List reports every configured plugin, in config order. Running plugins are
// health-checked now, within ctx, so Healthy is current.
func (m *Manager) List(ctx context.Context) []PluginInfo {
	infos := make([]PluginInfo, 0, len(m.instances))
	for _, in := range m.instances {
		in.mu.Lock()
		p := in.proc
		info := PluginInfo{
			Name:      in.spec.Name,
			Version:   in.desc.Version,
			Languages: slices.Clone(in.desc.Languages),
			Path:      in.spec.Path,
			Checksum:  in.state,
			SHA256:    in.sum,
			Restarts:  in.restarts,
		}
		if in.lastErr != nil {
			info.Error = in.lastErr.Error()
		}
		in.mu.Unlock()
		if p != nil {
			info.PID = p.pid
			if err := in.check(ctx, p); err != nil {
				info.Error = err.Error()
				in.poke()
			} else {
				info.Healthy = true
			}
		}
		infos = append(infos, info)
	}
	return infos
}

// Close stops the health loops, then every plugin (a Shutdown RPC first, the
// process group's SIGKILL if that does not end it in a few seconds), and
// returns once all have exited. Calls after Close fail with ErrClosed.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		m.stopAll()
	})
	return nil
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// stopAll stops every instance's process in parallel and waits.
func (m *Manager) stopAll() {
	var wg sync.WaitGroup
	for _, in := range m.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
}
