package host

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// echoListFile writes a plugin list file naming the echo plugin.
func echoListFile(t *testing.T) string {
	t.Helper()
	spec := mustEchoSpec(t)
	list := filepath.Join(t.TempDir(), "plugins.yaml")
	body := "- name: echo\n  path: " + spec.Path + "\n  sha256: " + spec.SHA256 + "\n  env: [\"" + spec.Env[0] + "\"]\n"
	if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestSourceExecOnce: a Source naming a list file starts its plugins;
// ExecOnce runs code through the plugin of a language and refuses an
// unknown one, naming the languages there are. A list file that does not
// exist fails Start.
func TestSourceExecOnce(t *testing.T) {
	list := echoListFile(t)
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

// TestSourceExecOnceAndList: a Source runs code once, given or read from
// stdin, starting and stopping its plugins around the call; a stdin that
// fails is an error before any plugin starts; List checks every plugin.
func TestSourceExecOnceAndList(t *testing.T) {
	list := echoListFile(t)
	log := slog.New(slog.DiscardHandler)
	src := Source{Config: list}
	for _, tc := range []struct {
		name, code string
		stdin      io.Reader
		src        Source
		want, err  string
	}{
		{name: "code", code: "hello", src: src, want: "hello"},
		{name: "stdin over code", code: "ignored", stdin: strings.NewReader("from stdin"), src: src, want: "from stdin"},
		{name: "stdin fails", stdin: iotest.ErrReader(errors.New("pipe broke")), src: Source{Config: filepath.Join(t.TempDir(), "none.yaml")}, err: "read code from stdin: pipe broke"},
		{name: "no list file", code: "x", src: Source{Config: filepath.Join(t.TempDir(), "none.yaml")}, err: "none.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.src.ExecOnce(t.Context(), log, "echo", tc.code, tc.stdin, 0)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ExecOnce = %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil || res.Stdout != tc.want {
				t.Errorf("ExecOnce = %+v, %v; want stdout %q", res, err, tc.want)
			}
		})
	}
	infos, err := src.List(t.Context(), log)
	if err != nil || len(infos) != 1 || infos[0].Name != "echo" || ListErr(infos) != nil {
		t.Errorf("List = %+v, %v; want echo, healthy", infos, err)
	}
}
