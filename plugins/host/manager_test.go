package host

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/plugins"
)

// pluginCase is one plugin driven through the same Manager path.
type pluginCase struct {
	name     string
	spec     func(t *testing.T) PluginConfig
	lang     string // routed fence language
	code     string
	want     string // stdout
	code2    string // second call in the same session
	want2    string
	describe string // Describe().Name
}

var pluginCases = []pluginCase{
	{
		name: "go-echo", spec: mustEchoSpec, lang: "echo", describe: "echo",
		code: "hello", want: "hello", code2: "again", want2: "again",
	},
	{
		name: "python-calc", spec: calcSpec, lang: "CALC", describe: "calc",
		code: "x = 6\nx * 7", want: "42\n", code2: "print(x + 1, sqrt(16))", want2: "7 4.0\n",
	},
}

func TestManagerRoundTrip(t *testing.T) {
	for _, tc := range pluginCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := newManager(t, []PluginConfig{tc.spec(t)})
			tool, ok := m.Tool(tc.lang)
			if !ok {
				t.Fatalf("Tool(%q): not routed; languages %v", tc.lang, m.Languages())
			}
			d, err := tool.Describe(ctx)
			if err != nil || d.Name != tc.describe {
				t.Fatalf("Describe = %+v, %v; want name %q", d, err, tc.describe)
			}
			sess, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "t1"})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			for _, call := range []struct{ code, want string }{{tc.code, tc.want}, {tc.code2, tc.want2}} {
				res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: call.code})
				if err != nil {
					t.Fatalf("Exec(%q): %v", call.code, err)
				}
				if res.Stdout != call.want || res.ErrorKind != plugins.KindNone {
					t.Errorf("Exec(%q) = stdout %q kind %q stderr %q; want %q", call.code, res.Stdout, res.ErrorKind, res.Stderr, call.want)
				}
			}
			if err := tool.Close(ctx, sess); err != nil {
				t.Fatalf("Close: %v", err)
			}
			_, err = tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: tc.code})
			if !errors.Is(err, plugins.ErrUnknownSession) {
				t.Errorf("Exec after Close: err = %v; want ErrUnknownSession", err)
			}
			infos := m.List(ctx)
			if len(infos) != 1 || infos[0].Checksum != ChecksumVerified || !infos[0].Healthy || infos[0].PID == 0 {
				t.Errorf("List = %+v; want one verified healthy plugin", infos)
			}
		})
	}
}

func TestManagerRestartsKilledPlugin(t *testing.T) {
	for _, tc := range pluginCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := newManager(t, []PluginConfig{tc.spec(t)})
			tool, _ := m.Tool(tc.lang)
			old, err := tool.Open(ctx, plugins.OpenRequest{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			pid := m.List(ctx)[0].PID
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill plugin %d: %v", pid, err)
			}
			var info PluginInfo
			eventually.True(t, 20*time.Second, "restart", func() bool {
				info = m.List(ctx)[0]
				return info.Healthy && info.Restarts >= 1 && info.PID != pid
			})
			_, err = tool.Exec(ctx, plugins.ExecRequest{Session: old, Code: tc.code})
			if !errors.Is(err, ErrStaleSession) {
				t.Errorf("Exec on pre-restart session: err = %v; want ErrStaleSession", err)
			}
			sess, err := tool.Open(ctx, plugins.OpenRequest{})
			if err != nil {
				t.Fatalf("Open after restart: %v", err)
			}
			res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: tc.code})
			if err != nil || res.Stdout != tc.want {
				t.Errorf("Exec after restart = %q, %v; want %q", res.Stdout, err, tc.want)
			}
		})
	}
}

func TestManagerChecksum(t *testing.T) {
	const bogus = "0000000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		name      string
		sha       func(real string) string
		opts      []Option
		wantErr   error
		wantState ChecksumState
	}{
		{name: "verified", sha: func(s string) string { return s }, wantState: ChecksumVerified},
		{name: "upper-case hex", sha: strings.ToUpper, wantState: ChecksumVerified},
		{name: "mismatch", sha: func(string) string { return bogus }, wantErr: ErrChecksumMismatch},
		{name: "missing", sha: func(string) string { return "" }, wantErr: ErrNoChecksum},
		{name: "skipped", sha: func(string) string { return bogus }, opts: []Option{InsecureSkipChecksum()}, wantState: ChecksumSkipped},
	}
	for _, pc := range pluginCases {
		for _, tc := range tests {
			t.Run(pc.name+"/"+tc.name, func(t *testing.T) {
				spec := pc.spec(t)
				real := spec.SHA256
				spec.SHA256 = tc.sha(real)
				opts := append([]Option{WithHealthInterval(time.Second)}, tc.opts...)
				m, err := New(context.Background(), []PluginConfig{spec}, opts...)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("New: err = %v; want %v", err, tc.wantErr)
					}
					var ce *ChecksumError
					if errors.As(err, &ce) {
						msg := err.Error()
						if ce.Got != real || ce.Want != bogus || !strings.Contains(msg, spec.Path) || !strings.Contains(msg, real) || !strings.Contains(msg, bogus) {
							t.Errorf("ChecksumError = %+v, %q; want path and both hashes", ce, msg)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer m.Close()
				if got := m.List(context.Background())[0].Checksum; got != tc.wantState {
					t.Errorf("checksum state = %q; want %q", got, tc.wantState)
				}
			})
		}
	}
}

func TestManagerKeepGoingListsRefused(t *testing.T) {
	good := mustEchoSpec(t)
	bad := calcSpec(t)
	bad.SHA256 = strings.Repeat("ab", 32)
	m := newManager(t, []PluginConfig{good, bad}, KeepGoing())
	infos := m.List(context.Background())
	if len(infos) != 2 {
		t.Fatalf("List = %+v; want 2", infos)
	}
	if infos[0].Checksum != ChecksumVerified || !infos[0].Healthy {
		t.Errorf("good plugin = %+v; want verified and healthy", infos[0])
	}
	if infos[1].Checksum != ChecksumMismatch || infos[1].Healthy || !strings.Contains(infos[1].Error, bad.Path) {
		t.Errorf("bad plugin = %+v; want mismatch, unhealthy, error naming the file", infos[1])
	}
	if _, ok := m.Tool("calc"); ok {
		t.Error("refused plugin is routed")
	}
}

func TestManagerCallsAfterClose(t *testing.T) {
	m := newManager(t, []PluginConfig{mustEchoSpec(t)})
	tool, _ := m.Tool("echo")
	sess, err := tool.Open(context.Background(), plugins.OpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pid := m.List(context.Background())[0].PID
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tool.Exec(context.Background(), plugins.ExecRequest{Session: sess, Code: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Exec after Close: err = %v; want ErrClosed", err)
	}
	if alive(pid) {
		t.Errorf("plugin %d still running after Close", pid)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, time.Second},
		{60, time.Second},
	}
	for _, tc := range tests {
		if got := backoff(100*time.Millisecond, time.Second, tc.attempt); got != tc.want {
			t.Errorf("backoff(attempt %d) = %v; want %v", tc.attempt, got, tc.want)
		}
	}
}

// TestManagerTimeoutReachesPlugin checks that the per-call timeout travels
// to the plugin, which reports it as a result, not an error.
func TestManagerTimeoutReachesPlugin(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, []PluginConfig{calcSpec(t)})
	tool, _ := m.Tool("calc")
	sess, err := tool.Open(ctx, plugins.OpenRequest{Stateless: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: "1 + 1", Timeout: time.Nanosecond})
	if err != nil || res.ErrorKind != plugins.KindTimeout {
		t.Errorf("Exec with 1ns timeout = %+v, %v; want KindTimeout", res, err)
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := tool.Exec(expired, plugins.ExecRequest{Session: sess, Code: "1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec with an expired ctx: err = %v; want DeadlineExceeded", err)
	}
}
