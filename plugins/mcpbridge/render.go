package mcpbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// renderContent turns a tool's result into the text of the ```output block:
// text parts as they are, one per line; other parts as a bracketed line that
// says what they were (a model reads text, not images); with no content at
// all, the structured result as JSON.
func renderContent(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		parts = append(parts, renderPart(c))
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "\n")
}

func renderPart(c mcp.Content) string {
	switch c := c.(type) {
	case *mcp.TextContent:
		return c.Text
	case *mcp.ImageContent:
		return fmt.Sprintf("[image %s, %d bytes]", c.MIMEType, len(c.Data))
	case *mcp.AudioContent:
		return fmt.Sprintf("[audio %s, %d bytes]", c.MIMEType, len(c.Data))
	case *mcp.ResourceLink:
		return fmt.Sprintf("[resource link %s: %s]", c.Name, c.URI)
	case *mcp.EmbeddedResource:
		switch r := c.Resource; {
		case r == nil:
			return "[resource]"
		case r.Text != "":
			return r.Text
		default:
			return fmt.Sprintf("[resource %s %s, %d bytes]", r.URI, r.MIMEType, len(r.Blob))
		}
	default:
		return fmt.Sprintf("[%T content]", c)
	}
}

// isRPCError reports an error response of the server (unknown tool,
// invalid params): the model's call was wrong, the bridge is fine.
func isRPCError(err error) bool {
	var we *jsonrpc.Error
	return errors.As(err, &we)
}

// truncate cuts s to at most limit bytes at a rune boundary.
func truncate(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}

// prefixWriter writes each whole line with a prefix, so that several
// servers' stderr stay apart in the host's log. Safe for concurrent use;
// the prefixWriters of several servers share w, so w must be too (New
// wraps it in a lockedWriter).
type prefixWriter struct {
	w      io.Writer
	prefix string

	mu  sync.Mutex
	buf []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(p.w, p.prefix+string(p.buf[:i+1])); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 4096 { // a line without end: write what there is
		_, err := io.WriteString(p.w, p.prefix+string(p.buf)+"\n")
		p.buf = p.buf[:0]
		return len(b), err
	}
	return len(b), nil
}

// lockedWriter serialises writes to w: each MCP server's stderr is copied
// by a goroutine of its own, and all of them end in the one writer the
// caller gave WithServerStderr, which need not be safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
