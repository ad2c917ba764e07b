package mcpbridge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge/mcptest"
)

// startEverything runs a bridge over server-everything (a real MCP server
// from npm) until the test ends.
func startEverything(t *testing.T, tools ...string) *mcpbridge.Bridge {
	t.Helper()
	cfg, err := mcpbridge.LoadConfig(mcptest.Config(t, t.TempDir(), tools...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, err := mcpbridge.New(ctx, cfg)
	if err != nil {
		t.Fatalf("start bridge: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return b
}

func open(t *testing.T, b *mcpbridge.Bridge) string {
	t.Helper()
	sid, err := b.Open(t.Context(), plugins.OpenRequest{Trajectory: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func TestBridgeEverything(t *testing.T) {
	b := startEverything(t)
	d, err := b.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mcp:everything.echo", "mcp:everything.get-sum"} {
		if !slices.Contains(d.Languages, want) {
			t.Fatalf("languages %v lack %s", d.Languages, want)
		}
	}
	sid := open(t, b)
	tests := []struct {
		name, lang, code string
		exit             int
		stdout, stderr   string // substrings
	}{
		{name: "echo", lang: "mcp:everything.echo", code: `{"message": "hello, tool"}`, stdout: "Echo: hello, tool"},
		{name: "lang in any case", lang: "MCP:Everything.Echo", code: `{"message": "x"}`, stdout: "Echo: x"},
		{name: "numbers stay numbers", lang: "mcp:everything.get-sum", code: "{\"a\": 2,\n \"b\": 40}\n", stdout: "42"},
		{name: "not JSON", lang: "mcp:everything.echo", code: `message: hi`, exit: mcpbridge.ExitBadArguments, stderr: "want one JSON object"},
		{name: "a JSON array", lang: "mcp:everything.echo", code: `["hi"]`, exit: mcpbridge.ExitBadArguments, stderr: "arguments"},
		{name: "two objects", lang: "mcp:everything.echo", code: `{"message": "a"} {"message": "b"}`, exit: mcpbridge.ExitBadArguments, stderr: "more after it"},
		{name: "missing argument", lang: "mcp:everything.echo", code: `{}`, exit: mcpbridge.ExitToolError, stderr: "message"},
		{name: "wrong type", lang: "mcp:everything.get-sum", code: `{"a": "two", "b": 1}`, exit: mcpbridge.ExitToolError, stderr: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := b.Exec(t.Context(), plugins.ExecRequest{Session: sid, Lang: tt.lang, Code: tt.code})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if res.ExitCode != tt.exit || res.ErrorKind != plugins.KindNone ||
				!strings.Contains(res.Stdout, tt.stdout) || !strings.Contains(res.Stderr, tt.stderr) {
				t.Fatalf("got exit %d kind %q stdout %q stderr %q; want exit %d, stdout with %q, stderr with %q",
					res.ExitCode, res.ErrorKind, res.Stdout, res.Stderr, tt.exit, tt.stdout, tt.stderr)
			}
			if tt.exit != 0 && tt.stdout == "" && res.Stdout != "" {
				t.Fatalf("failed call wrote stdout %q", res.Stdout)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		res, err := b.Exec(t.Context(), plugins.ExecRequest{Session: sid, Lang: "mcp:everything.trigger-long-running-operation",
			Code: `{"duration": 30, "steps": 3}`, Timeout: 300 * time.Millisecond})
		if err != nil || res.ErrorKind != plugins.KindTimeout {
			t.Fatalf("got %+v, %v; want KindTimeout", res, err)
		}
		// The server is still there for the next call.
		res, err = b.Exec(t.Context(), plugins.ExecRequest{Session: sid, Lang: "mcp:everything.echo", Code: `{"message": "after"}`})
		if err != nil || res.Stdout != "Echo: after" {
			t.Fatalf("after a timeout: %+v, %v", res, err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		if _, err := b.Exec(t.Context(), plugins.ExecRequest{Session: sid, Lang: "mcp:everything.nope", Code: `{}`}); !errors.Is(err, plugins.ErrInvalidRequest) {
			t.Errorf("unknown tool: %v, want ErrInvalidRequest", err)
		}
		if _, err := b.Exec(t.Context(), plugins.ExecRequest{Session: sid, Code: `{}`}); !errors.Is(err, plugins.ErrInvalidRequest) ||
			!strings.Contains(err.Error(), "no fence language") {
			t.Errorf("no language: %v, want ErrInvalidRequest naming the missing language", err)
		}
		if _, err := b.Exec(t.Context(), plugins.ExecRequest{Session: "nope", Lang: "mcp:everything.echo"}); !errors.Is(err, plugins.ErrUnknownSession) {
			t.Errorf("unknown session: %v", err)
		}
		if err := b.Close(t.Context(), sid); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(t.Context(), sid); !errors.Is(err, plugins.ErrUnknownSession) {
			t.Errorf("second close: %v", err)
		}
	})
}

func TestBridgeToolsList(t *testing.T) {
	b := startEverything(t, "echo")
	d, _ := b.Describe(t.Context())
	if !slices.Equal(d.Languages, []string{"mcp:everything.echo"}) {
		t.Fatalf("languages %v, want only the configured echo", d.Languages)
	}
	cfg, err := mcpbridge.LoadConfig(mcptest.Config(t, t.TempDir(), "echo", "no-such-tool"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = mcpbridge.New(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no-such-tool") {
		t.Fatalf("New with a tool the server lacks: %v, want an error naming it", err)
	}
}
