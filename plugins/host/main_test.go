package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/bash"
	"github.com/hintfleet/hintfleet/plugins/examples/echo"
	"github.com/hintfleet/hintfleet/plugins/python"
)

// The test binary doubles as the Go plugin and as a host process, so tests
// need no `go build`: re-executed with one of these variables set, it serves
// or hosts instead of running tests.
const (
	envServeEcho = "HINTFLEET_TEST_SERVE_ECHO"
	envHost      = "HINTFLEET_TEST_HOST"
	// envServePython and envServeBash serve the real sandboxed tools, for
	// the end-to-end latency benchmark through the manager.
	envServePython = "HINTFLEET_TEST_SERVE_PYTHON"
	envServeBash   = "HINTFLEET_TEST_SERVE_BASH"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envServeEcho) != "":
		plugins.Serve(echo.New())
		os.Exit(0)
	case os.Getenv(envHost) != "":
		os.Exit(runTestHost())
	case os.Getenv(envServePython) != "":
		interp, err := python.New(python.WithPoolSize(4))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		plugins.Serve(interp)
		interp.Stop()
		os.Exit(0)
	case os.Getenv(envServeBash) != "":
		tool, err := bash.New(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		plugins.Serve(tool)
		tool.Stop()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runTestHost starts a manager on the echo plugin, prints the plugin's pid
// and blocks until it is killed; TestHostKilledLeavesNoPlugin kills it.
func runTestHost() int {
	spec, err := echoSpec()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	m, err := New(context.Background(), []PluginConfig{spec})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("PID %d\n", m.List(context.Background())[0].PID)
	select {}
}

// echoSpec runs this test binary as the echo plugin, checksummed.
func echoSpec() (PluginConfig, error) {
	exe, err := os.Executable()
	if err != nil {
		return PluginConfig{}, err
	}
	sum, err := FileSHA256(exe)
	if err != nil {
		return PluginConfig{}, err
	}
	return PluginConfig{Name: "echo", Path: exe, SHA256: sum, Env: []string{envServeEcho + "=1"}}, nil
}

// calcSpec is the Python plugin, checksummed; it skips the test where
// Debian's Python lacks grpcio or cryptography.
func calcSpec(t *testing.T) PluginConfig {
	t.Helper()
	path, err := filepath.Abs("../calc-py/calc_plugin.py")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	sum, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return PluginConfig{Name: "calc", Path: path, SHA256: sum}
}

func mustEchoSpec(t *testing.T) PluginConfig {
	t.Helper()
	s, err := echoSpec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newManager starts a manager with fast health checks and backoff, closed
// at cleanup.
func newManager(t *testing.T, specs []PluginConfig, opts ...Option) *Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts = append([]Option{WithHealthInterval(50 * time.Millisecond), WithBackoff(20*time.Millisecond, 200*time.Millisecond)}, opts...)
	m, err := New(ctx, specs, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}
