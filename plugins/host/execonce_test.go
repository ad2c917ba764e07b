package host

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceExecOnce: a Source naming a list file starts its plugins;
// ExecOnce runs code through the plugin of a language and refuses an
// unknown one, naming the languages there are. A list file that does not
// exist fails Start.
func TestSourceExecOnce(t *testing.T) {
	spec := mustEchoSpec(t)
	list := filepath.Join(t.TempDir(), "plugins.yaml")
	body := "- name: echo\n  path: " + spec.Path + "\n  sha256: " + spec.SHA256 + "\n  env: [\"" + spec.Env[0] + "\"]\n"
	if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := Source{Config: list}.Start(t.Context(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := m.ExecOnce(t.Context(), "echo", "hello", 0)
	if err != nil || res.Stdout != "hello" {
		t.Errorf("ExecOnce echo = %+v, %v; want hello", res, err)
	}
	_, err = m.ExecOnce(t.Context(), "cobol", "x", 0)
	if !errors.Is(err, ErrNoTool) || !strings.Contains(err.Error(), "echo") {
		t.Errorf("ExecOnce cobol = %v, want ErrNoTool naming echo", err)
	}
	if _, err := (Source{Config: filepath.Join(t.TempDir(), "none.yaml")}).Start(t.Context(), log); err == nil {
		t.Error("Start with a missing list file: want an error")
	}
}
