package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// TestManagerRefusesBadChecksumAlone: the calc plugin with a wrong
// checksum is refused, loudly, and the echo plugin beside it serves; a
// plugin that fails to start still stops New (KeepGoing aside).
// plugins/plugintest runs the same refusal against every plugin.
func TestManagerRefusesBadChecksumAlone(t *testing.T) {
	good := mustEchoSpec(t)
	bad := calcSpec(t)
	bad.SHA256 = strings.Repeat("ab", 32)
	logs := &syncWriter{w: &strings.Builder{}}
	m := newManager(t, []PluginConfig{good, bad}, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
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
	if _, err := m.Lookup("calc"); !errors.Is(err, ErrNoTool) || !strings.Contains(err.Error(), bad.Path) {
		t.Errorf("Lookup(calc) = %v; want ErrNoTool naming the refused plugin", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "plugin refused") {
		t.Errorf("the refusal was not logged as an error:\n%s", logs.String())
	}

	sum, err := FileSHA256("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	broken := PluginConfig{Name: "broken", Path: "/bin/true", SHA256: sum} // exits before any handshake
	if _, err := New(context.Background(), []PluginConfig{good, broken}, WithStartTimeout(2*time.Second)); err == nil {
		t.Error("New with a plugin that does not start: no error")
	}
}

// syncWriter serialises writes from the manager's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*strings.Builder).String()
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
