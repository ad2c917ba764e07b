package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testDeadline bounds every wait for an event in these tests.
const testDeadline = 10 * time.Second

// ev renders one vLLM-style streamed completion chunk as an SSE event.
func ev(text, finish string, stop string) string {
	f, s := "null", "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	if stop != "" {
		s = stop
	}
	return fmt.Sprintf(`data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":%q,"logprobs":null,"finish_reason":%s,"stop_reason":%s}],"usage":null}`+"\n\n", text, f, s)
}

// usageEv is vLLM's last event with include_usage: no choices, only usage.
func usageEv(prompt, completion int) string {
	return fmt.Sprintf(`data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":%d,"total_tokens":%d,"completion_tokens":%d}}`+"\n\n",
		prompt, prompt+completion, completion)
}

const done = "data: [DONE]\n\n"

// writeSSE writes the pieces, flushing after each, as an SSE reply.
func writeSSE(w http.ResponseWriter, pieces ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	for _, p := range pieces {
		_, _ = w.Write([]byte(p))
		fl.Flush()
	}
}

// bytewise splits s into one-byte pieces.
func bytewise(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}

// newTestClient starts srv's handler on loopback and returns a client whose
// retries do not wait but record their waits.
func newTestClient(t *testing.T, h http.Handler, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, append([]Option{WithModel("m")}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	c.randN = func(n int64) int64 { return n - 1 }
	return c, &waits
}

// wait blocks until ch is closed or the test deadline passes.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testDeadline):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	t.Cleanup(cancel)
	return ctx
}

func joinPieces(p []string) string { return strings.Join(p, "") }
