package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/hintfleet/hintfleet/plugins"
)

// instance is one configured plugin across its restarts. Its supervise loop,
// owned by the Manager, health-checks the current process and replaces it
// when it dies.
type instance struct {
	spec   PluginConfig
	opts   *options
	logger *slog.Logger
	nudge  chan struct{} // a call saw the plugin unavailable; check now

	mu       sync.Mutex
	proc     *process // nil while down
	gen      uint64   // generation of the last process started
	desc     plugins.Description
	state    ChecksumState
	sum      string
	healthy  bool
	restarts int
	lastErr  error
}

// process is one running plugin process. gen ties sessions to it.
type process struct {
	client  *plugin.Client
	tool    plugins.Tool
	health  grpc_health_v1.HealthClient
	pid     int
	gen     uint64
	started time.Time
}

func newInstance(spec PluginConfig, opts *options) *instance {
	return &instance{
		spec:   spec,
		opts:   opts,
		logger: opts.logger.With("plugin", spec.Name),
		nudge:  make(chan struct{}, 1),
	}
}

// start verifies the binary and starts a process, replacing none; the caller
// makes sure no process is current.
func (in *instance) start(ctx context.Context) error {
	state, sum, err := verifyChecksum(in.spec, in.opts.skipChecksum)
	in.mu.Lock()
	in.state, in.sum = state, sum
	in.mu.Unlock()
	if err != nil {
		in.setErr(err)
		return err
	}
	if state == ChecksumSkipped {
		in.logger.Warn("plugin checksum not verified", "path", in.spec.Path, "sha256", sum)
	}
	p, desc, err := in.launch(ctx, sum)
	if err != nil {
		in.setErr(err)
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.gen++
	p.gen = in.gen
	in.proc, in.desc, in.healthy, in.lastErr = p, desc, true, nil
	in.logger.Info("plugin started", "pid", p.pid, "generation", p.gen, "version", desc.Version, "languages", desc.Languages)
	return nil
}

func (in *instance) setErr(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.lastErr, in.healthy = err, false
}

// launch starts the process, completes go-plugin's handshake and asks the
// tool to describe itself.
func (in *instance) launch(ctx context.Context, sum string) (*process, plugins.Description, error) {
	wantSum, _ := hex.DecodeString(sum)
	cmd := exec.Command(in.spec.Path, in.spec.Args...)
	cmd.Env = append(baseEnv(), in.spec.Env...)
	cmd.SysProcAttr = sysProcAttr()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		Plugins:          plugins.PluginMap(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// go-plugin checks the hash again right before exec, narrowing the
		// window between our check and the start.
		SecureConfig: &plugin.SecureConfig{Checksum: wantSum, Hash: sha256.New()},
		AutoMTLS:     true,
		SkipHostEnv:  true,
		StartTimeout: in.opts.startTimeout,
		Logger:       newHCLogger(in.opts.logger, in.spec.Name),
	})
	fail := func(err error) (*process, plugins.Description, error) {
		pid := 0
		if cmd.Process != nil {
			pid = cmd.Process.Pid
		}
		stopProcess(client, pid)
		return nil, plugins.Description{}, fmt.Errorf("start plugin %s (%s): %w", in.spec.Name, in.spec.Path, err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpc.Dispense(plugins.PluginName)
	if err != nil {
		return fail(err)
	}
	tool, ok := raw.(plugins.Tool)
	if !ok {
		return fail(fmt.Errorf("dispensed %T, not a plugins.Tool", raw))
	}
	gc, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return fail(fmt.Errorf("protocol client %T is not gRPC", rpc))
	}
	dctx, cancel := context.WithTimeout(ctx, in.opts.startTimeout)
	defer cancel()
	desc, err := tool.Describe(dctx)
	if err != nil {
		return fail(err)
	}
	if len(in.spec.Languages) > 0 {
		desc.Languages = slices.Clone(in.spec.Languages)
	}
	for i, l := range desc.Languages {
		desc.Languages[i] = normLang(l)
	}
	return &process{
		client:  client,
		tool:    tool,
		health:  grpc_health_v1.NewHealthClient(gc.Conn),
		pid:     cmd.Process.Pid,
		started: time.Now(),
	}, desc, nil
}

// baseEnv is what a plugin inherits from the host: enough to find programs
// and write temp files, and nothing that may carry a secret.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "LANG", "LC_ALL", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func normLang(l string) string { return strings.ToLower(strings.TrimSpace(l)) }

// current returns the running process, or an error saying why there is none.
func (in *instance) current() (*process, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.proc == nil {
		err := in.lastErr
		if err == nil {
			err = errors.New("not running")
		}
		return nil, fmt.Errorf("plugin %s: %w: %w", in.spec.Name, plugins.ErrUnavailable, err)
	}
	return in.proc, nil
}

// check health-checks p: its process is alive and its gRPC health service
// says SERVING for go-plugin's service name.
func (in *instance) check(ctx context.Context, p *process) error {
	if p.client.Exited() {
		return errors.New("plugin process exited")
	}
	ctx, cancel := context.WithTimeout(ctx, in.opts.healthInterval+time.Second)
	defer cancel()
	resp, err := p.health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if s := resp.GetStatus(); s != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("health check: status %s", s)
	}
	return nil
}

// poke asks the supervise loop for an early check; it never blocks.
func (in *instance) poke() {
	select {
	case in.nudge <- struct{}{}:
	default:
	}
}

// supervise health-checks the plugin every interval (or when poked) and
// restarts it when the check fails, until ctx is done. The Manager owns it.
func (in *instance) supervise(ctx context.Context) {
	tick := time.NewTicker(in.opts.healthInterval)
	defer tick.Stop()
	attempt := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-in.nudge:
		}
		in.mu.Lock()
		p := in.proc
		in.mu.Unlock()
		if p != nil {
			err := in.check(ctx, p)
			if err == nil {
				in.mu.Lock()
				in.healthy = true
				in.mu.Unlock()
				continue
			}
			if ctx.Err() != nil {
				return
			}
			in.logger.Warn("plugin unhealthy; restarting", "pid", p.pid, "generation", p.gen, "err", err)
			in.mu.Lock()
			in.proc, in.healthy, in.lastErr = nil, false, err
			in.mu.Unlock()
			stopProcess(p.client, p.pid)
			if time.Since(p.started) > in.opts.backoffMax {
				attempt = 0 // it was up long enough: not a crash loop
			}
		}
		// Down: restart with backoff until it starts or we are stopped.
		for {
			delay := backoff(in.opts.backoffInitial, in.opts.backoffMax, attempt)
			attempt++
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			err := in.start(ctx)
			in.mu.Lock()
			in.restarts++
			in.mu.Unlock()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			in.logger.Error("plugin restart failed", "attempt", attempt, "next_delay", backoff(in.opts.backoffInitial, in.opts.backoffMax, attempt), "err", err)
		}
	}
}

// backoff is initial·2^attempt, capped at max.
func backoff(initial, max time.Duration, attempt int) time.Duration {
	d := initial
	for range attempt {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}

// stop shuts the current process down, gracefully first, and waits for it.
func (in *instance) stop() {
	in.mu.Lock()
	p := in.proc
	in.proc, in.healthy = nil, false
	in.mu.Unlock()
	if p != nil {
		stopProcess(p.client, p.pid)
	}
}

// stopProcess asks the plugin to exit (go-plugin's Kill: a Shutdown RPC,
// then SIGKILL after 2 s), SIGKILLs its process group if that takes longer
// than stopGrace, and returns once the process is gone. The group kill also
// reaps whatever the plugin started.
func stopProcess(client *plugin.Client, leader int) {
	done := make(chan struct{})
	go func() { // owned here: we wait on done below
		defer close(done)
		client.Kill()
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = killGroup(leader)
		<-done
	}
	_ = killGroup(leader)
}
