package top

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
)

// buildBinary builds cmd/hintfleet into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hintfleet")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/hintfleet/hintfleet/cmd/hintfleet").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTopInTmux runs `hintfleet top` in a detached tmux session against a
// fake coordinator, reads the screen until the worker, GPU and job rows
// with their bars appear, presses q and checks that the program exits.
func TestTopInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux not installed (make deps installs it)")
	}
	api := fakeAPI(t, func() any {
		return []map[string]any{{"id": "job-1", "state": "running", "submitted": 100, "done": 40,
			"dead_lettered": 2, "in_flight": 40, "tokens": 5000}}
	})
	bin := buildBinary(t)

	t.Run("once", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), bin, "top", "--once", "--api", api.URL).CombinedOutput()
		if err != nil {
			t.Fatalf("top --once: %v\n%s", err, out)
		}
		for _, want := range []string{"worker-a", "gpu0", "job-1", "[#####", "dead letters 2"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("--once output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("tui", func(t *testing.T) {
		sock := fmt.Sprintf("hintfleet-top-%d", os.Getpid())
		run := func(args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, tmux, append([]string{"-L", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
			return string(out), err
		}
		t.Cleanup(func() { _, _ = run("kill-server") })
		cmdline := fmt.Sprintf("%s top --api %s --interval 200ms", bin, api.URL)
		if out, err := run("-u", "new-session", "-d", "-x", "120", "-y", "40", "-s", "top", cmdline); err != nil {
			t.Fatalf("tmux new-session: %v\n%s", err, out)
		}
		eventually.Report(t, 20*time.Second, "worker, gpu and job rows", func() (bool, string) {
			screen, err := run("capture-pane", "-p", "-t", "top")
			if err != nil {
				return false, screen
			}
			for _, want := range []string{"WORKERS", "worker-a", "gpu0", "util [", "mem [", "temp [", "JOBS", "job-1", "[#####", "dead letters 2", "q quit"} {
				if !strings.Contains(screen, want) {
					return false, screen
				}
			}
			return true, screen
		})
		if out, err := run("send-keys", "-t", "top", "q"); err != nil {
			t.Fatalf("send-keys: %v\n%s", err, out)
		}
		eventually.Report(t, 10*time.Second, "the session to end after q", func() (bool, string) {
			out, err := run("has-session", "-t", "top")
			return err != nil, out
		})
	})
}
