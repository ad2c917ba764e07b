package mcpbridge

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestRenderContent(t *testing.T) {
	tests := []struct {
		name string
		res  *mcp.CallToolResult
		want string
	}{
		{"texts one per line", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "a"}, &mcp.TextContent{Text: "b"}}}, "a\nb"},
		{"image said, not shown", &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{MIMEType: "image/png", Data: make([]byte, 10)}}}, "[image image/png, 10 bytes]"},
		{"audio", &mcp.CallToolResult{Content: []mcp.Content{&mcp.AudioContent{MIMEType: "audio/wav", Data: []byte{1}}}}, "[audio audio/wav, 1 bytes]"},
		{"resource link", &mcp.CallToolResult{Content: []mcp.Content{&mcp.ResourceLink{Name: "f", URI: "file:///f"}}}, "[resource link f: file:///f]"},
		{"embedded text resource", &mcp.CallToolResult{Content: []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "x", Text: "body"}}}}, "body"},
		{"embedded blob", &mcp.CallToolResult{Content: []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "x", MIMEType: "application/gzip", Blob: []byte{1, 2}}}}}, "[resource x application/gzip, 2 bytes]"},
		{"structured only", &mcp.CallToolResult{StructuredContent: map[string]any{"sum": 5}}, `{"sum":5}`},
		{"text wins over structured", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "5"}}, StructuredContent: map[string]any{"sum": 5}}, "5"},
		{"nothing", &mcp.CallToolResult{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderContent(tt.res); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseArguments(t *testing.T) {
	args, err := parseArguments(" {\"n\": 12345678901234567890, \"s\": \"x\"}\n")
	if err != nil || args["s"] != "x" || args["n"].(interface{ String() string }).String() != "12345678901234567890" {
		t.Fatalf("got %v, %v; want big numbers kept exact", args, err)
	}
	if args, err := parseArguments("  \n"); err != nil || len(args) != 0 {
		t.Fatalf("empty body: %v, %v; want no arguments", args, err)
	}
	for _, bad := range []string{"null", "[1]", `{"a": 1`, `"s"`, `{} {}`} {
		if _, err := parseArguments(bad); err == nil || !strings.HasPrefix(err.Error(), "arguments: ") {
			t.Errorf("parseArguments(%q) = %v; want an error for the model", bad, err)
		}
	}
}

func TestTruncateAndPrefix(t *testing.T) {
	if s, cut := truncate("héllo", 2); s != "h" || !cut {
		t.Errorf("truncate inside a rune: %q %v", s, cut)
	}
	if s, cut := truncate("ok", 2); s != "ok" || cut {
		t.Errorf("truncate at the limit: %q %v", s, cut)
	}
	var out bytes.Buffer
	w := &prefixWriter{w: &out, prefix: "srv: "}
	for _, chunk := range []string{"one\ntw", "o\n", "three"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got := out.String(); got != "srv: one\nsrv: two\n" {
		t.Errorf("prefixed %q; an unfinished line waits for its newline", got)
	}
}

// TestServersShareOneStderr writes from several servers' prefixWriters at
// once into one bytes.Buffer, as New wires them; under -race an unlocked
// shared writer fails, and every line must come out whole.
func TestServersShareOneStderr(t *testing.T) {
	var out bytes.Buffer
	shared := &lockedWriter{w: &out}
	const servers, lines = 4, 200
	var wg sync.WaitGroup
	for s := range servers {
		w := &prefixWriter{w: shared, prefix: fmt.Sprintf("srv%d: ", s)}
		wg.Go(func() {
			for i := range lines {
				if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != servers*lines {
		t.Fatalf("%d lines out, want %d", len(got), servers*lines)
	}
	for _, l := range got {
		var s, i int
		if n, err := fmt.Sscanf(l, "srv%d: line %d", &s, &i); n != 2 || err != nil {
			t.Fatalf("line %q is not one whole prefixed line", l)
		}
	}
}
