package plugintest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/examples/echo"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/plugins/plugintest"
)

// envServeEcho re-executes this test binary as the echo plugin.
const envServeEcho = "HINTFLEET_PLUGINTEST_SERVE_ECHO"

func TestMain(m *testing.M) {
	if os.Getenv(envServeEcho) != "" {
		plugins.Serve(echo.New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestGoEcho: a plugin that lives in the test binary.
func TestGoEcho(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plugintest.Run(t, plugintest.Case{
		Spec:     host.PluginConfig{Name: "echo", Path: exe, Env: []string{envServeEcho + "=1"}},
		Lang:     "echo",
		Describe: "echo",
		Calls:    []plugintest.Call{{Code: "hello", Stdout: "hello"}, {Code: "again", Stdout: "again"}},
	})
}

// TestPythonCalc: a plugin written in Python, started as a script.
func TestPythonCalc(t *testing.T) {
	path, err := filepath.Abs("../calc-py/calc_plugin.py")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, cryptography").Run(); err != nil {
		t.Skip("Debian's python3-grpcio, python3-protobuf or python3-cryptography missing (make deps installs them)")
	}
	plugintest.Run(t, plugintest.Case{
		Spec:     host.PluginConfig{Name: "calc", Path: path},
		Lang:     "CALC",
		Describe: "calc",
		Calls:    []plugintest.Call{{Code: "x = 6\nx * 7", Stdout: "42\n"}, {Code: "print(x + 1, sqrt(16))", Stdout: "7 4.0\n"}},
	})
}

// TestBash: the bash tool as `make plugins` builds it, a binary of its own.
func TestBash(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap not installed (make deps installs it)")
	}
	plugintest.Run(t, plugintest.Case{
		Spec:     host.PluginConfig{Name: "bash", Path: plugintest.Build(t, "github.com/hintfleet/hintfleet/plugins/cmd/hintfleet-bash")},
		Lang:     "sh",
		Describe: "bash",
		Calls:    []plugintest.Call{{Code: "echo $((6 * 7))", Stdout: "42\n"}, {Code: "seq 3 | paste -sd,", Stdout: "1,2,3\n"}},
	})
}
