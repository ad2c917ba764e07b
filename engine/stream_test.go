package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// drain reads s to the end, returning the chunks and the final error (nil
// for io.EOF).
func drain(s *Stream) ([]Chunk, error) {
	var out []Chunk
	for {
		ch, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ch)
	}
}

func TestStream(t *testing.T) {
	happy := []string{ev("Hello", "", ""), ev(" wor", "", ""), ev("ld", "length", ""), usageEv(7, 3), done}
	split := ev("世界", "stop", "")
	cut := strings.Index(split, "世") + 1 // inside the rune
	tests := []struct {
		name       string
		pieces     []string
		wantText   string
		wantTokens int
		wantFinish string
		wantStop   any
		wantUsage  bool
		wantErr    func(error) bool
	}{
		{name: "happy path", pieces: happy, wantText: "Hello world", wantTokens: 3, wantFinish: "length", wantUsage: true},
		{name: "crlf", pieces: []string{strings.ReplaceAll(joinPieces(happy), "\n", "\r\n")},
			wantText: "Hello world", wantTokens: 3, wantFinish: "length", wantUsage: true},
		{name: "byte by byte", pieces: bytewise(joinPieces(happy)), wantText: "Hello world", wantTokens: 3, wantFinish: "length", wantUsage: true},
		{name: "rune split across writes", pieces: []string{split[:cut], split[cut:], done}, wantText: "世界", wantTokens: 1, wantFinish: "stop"},
		{name: "usage beats chunk count", pieces: []string{ev("a", "", ""), ev("bc", "stop", ""), usageEv(1, 5), done},
			wantText: "abc", wantTokens: 5, wantFinish: "stop", wantUsage: true},
		{name: "stop string reason", pieces: []string{ev("x", "", ""), ev("", "stop", `"</answer>"`), done},
			wantText: "x", wantTokens: 1, wantFinish: "stop", wantStop: "</answer>"},
		{name: "stop token reason", pieces: []string{ev("x", "stop", `151643`), done},
			wantText: "x", wantTokens: 1, wantFinish: "stop", wantStop: float64(151643)},
		{name: "finish without done", pieces: []string{ev("x", "", ""), ev("y", "stop", "")},
			wantText: "xy", wantTokens: 2, wantFinish: "stop"},
		{name: "comments and keep-alives", pieces: []string{": ping\n\n", ev("x", "", ""), ": ping\n\n", ev("y", "length", ""), done},
			wantText: "xy", wantTokens: 2, wantFinish: "length"},
		{name: "clean eof mid-generation is a cut", pieces: []string{ev("x", "", ""), ev("y", "", "")},
			wantText: "xy", wantTokens: 2, wantErr: func(err error) bool {
				var ce *StreamCutError
				return errors.As(err, &ce) && ce.Text == "xy" && ce.CompletionTokens == 2 && errors.Is(err, io.ErrUnexpectedEOF)
			}},
		{name: "half event at eof is a cut", pieces: []string{ev("x", "", ""), `data: {"choices":[{"te`},
			wantText: "x", wantTokens: 1, wantErr: func(err error) bool { return errors.Is(err, ErrStreamCut) }},
		{name: "nested error event", pieces: []string{ev("x", "", ""), `data: {"error":{"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}}` + "\n\n"},
			wantText: "x", wantTokens: 1, wantErr: func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.StatusCode == 500 && se.Message == "boom" && se.Type == "InternalServerError"
			}},
		{name: "flat error event", pieces: []string{`data: {"object":"error","message":"too long","type":"BadRequestError","param":"prompt","code":400}` + "\n\n"},
			wantErr: func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.StatusCode == 400 && se.Param == "prompt"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeSSE(w, tt.pieces...)
			}))
			s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p", MaxTokens: 8})
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			defer s.Close()
			chunks, err := drain(s)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && (err == nil || !tt.wantErr(err)) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if got := s.Text(); got != tt.wantText {
				t.Errorf("Text = %q, want %q", got, tt.wantText)
			}
			if got := s.CompletionTokens(); got != tt.wantTokens {
				t.Errorf("CompletionTokens = %d, want %d", got, tt.wantTokens)
			}
			if got := s.FinishReason(); got != tt.wantFinish {
				t.Errorf("FinishReason = %q, want %q", got, tt.wantFinish)
			}
			if _, ok := s.Usage(); ok != tt.wantUsage {
				t.Errorf("Usage present = %v, want %v", ok, tt.wantUsage)
			}
			var stop any
			for _, ch := range chunks {
				if ch.StopReason != nil {
					stop = ch.StopReason
				}
			}
			if stop != tt.wantStop {
				t.Errorf("StopReason = %#v, want %#v", stop, tt.wantStop)
			}
			if _, err2 := s.Next(); err != nil && err2 != err {
				t.Errorf("error not sticky: %v then %v", err, err2)
			}
		})
	}
}

func TestStreamUsageChunk(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, ev("a", "stop", ""), usageEv(4, 1), done)
	}))
	s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := drain(s)
	if err != nil || len(chunks) != 2 {
		t.Fatalf("chunks %+v, err %v", chunks, err)
	}
	if u := chunks[1].Usage; chunks[1].Text != "" || u == nil || *u != (Usage{PromptTokens: 4, CompletionTokens: 1, TotalTokens: 5}) {
		t.Fatalf("usage chunk = %+v (usage %+v)", chunks[1], u)
	}
}

func TestStreamIterator(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, ev("a", "", ""), ev("b", "stop", ""), done)
	}))
	s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var text string
	for ch, err := range s.Chunks() {
		if err != nil {
			t.Fatal(err)
		}
		text += ch.Text
	}
	if text != "ab" {
		t.Fatalf("text = %q, want ab", text)
	}
}

func TestStreamRequestBody(t *testing.T) {
	var got map[string]any
	var auth string
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode request: %v", err)
		}
		writeSSE(w, ev("a", "stop", ""), done)
	}), WithAPIKey("sk-secret"))
	s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p", MaxTokens: 5, Temperature: new(0.0), Seed: new(int64(7)),
		Stop: []string{"```"}, IncludeStopStrInOutput: true, Extra: map[string]any{"top_k": 20}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	want := map[string]any{"model": "m", "prompt": "p", "max_tokens": 5.0, "temperature": 0.0, "seed": 7.0,
		"stop": []any{"```"}, "include_stop_str_in_output": true, "stream": true,
		"stream_options": map[string]any{"include_usage": true}, "top_k": 20.0}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("request body\n got %s\nwant %s", gb, wb)
	}
	if auth != "Bearer sk-secret" {
		t.Fatalf("Authorization = %q", auth)
	}
}

// blockingHandler writes first (if any) then blocks until the client goes
// away or release closes; gone is closed once the server saw the client leave.
func blockingHandler(first []string, headers bool, release <-chan struct{}, gone chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Read the request as an engine does; net/http watches for the
		// client going away only once the body is consumed.
		_, _ = io.Copy(io.Discard, r.Body)
		if headers {
			writeSSE(w, first...)
		}
		select {
		case <-r.Context().Done():
			close(gone)
		case <-release:
		}
	}
}

func TestStreamCancel(t *testing.T) {
	for _, how := range []string{"ctx", "close"} {
		t.Run(how, func(t *testing.T) {
			release, gone := make(chan struct{}), make(chan struct{})
			defer close(release)
			c, _ := newTestClient(t, blockingHandler([]string{ev("a", "", "")}, true, release, gone))
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			s, err := c.Stream(ctx, CompletionRequest{Prompt: "p"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if ch, err := s.Next(); err != nil || ch.Text != "a" {
				t.Fatalf("first chunk %+v, %v", ch, err)
			}
			errc := make(chan error, 1)
			go func() { _, err := s.Next(); errc <- err }()
			if how == "ctx" {
				cancel()
			} else {
				s.Close()
			}
			select {
			case err := <-errc:
				want := ErrClosed
				if how == "ctx" {
					want = context.Canceled
				}
				if !errors.Is(err, want) {
					t.Fatalf("Next after %s = %v, want %v", how, err, want)
				}
			case <-time.After(testDeadline):
				t.Fatal("Next did not return after cancel")
			}
			wait(t, gone, "server to see the connection close")
		})
	}
}

func TestStreamTimeouts(t *testing.T) {
	tests := []struct {
		name      string
		headers   bool
		first     []string
		opt       Option
		atStream  bool // the error comes from Stream, not Next
		wantChunk bool
		check     func(error) bool
	}{
		{name: "first token before headers", opt: WithFirstTokenTimeout(50 * time.Millisecond), atStream: true,
			check: func(err error) bool { return errors.Is(err, ErrFirstTokenTimeout) && !errors.Is(err, ErrStreamCut) }},
		{name: "first token after headers", headers: true, opt: WithFirstTokenTimeout(50 * time.Millisecond),
			check: func(err error) bool { return errors.Is(err, ErrFirstTokenTimeout) && !errors.Is(err, ErrStreamCut) }},
		{name: "idle", headers: true, first: []string{ev("a", "", "")}, opt: WithIdleTimeout(50 * time.Millisecond), wantChunk: true,
			check: func(err error) bool {
				var ce *StreamCutError
				return errors.Is(err, ErrIdleTimeout) && errors.As(err, &ce) && ce.Text == "a" && ce.CompletionTokens == 1
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release, gone := make(chan struct{}), make(chan struct{})
			defer close(release)
			c, _ := newTestClient(t, blockingHandler(tt.first, tt.headers, release, gone), tt.opt)
			s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
			if tt.atStream {
				if err == nil || !tt.check(err) {
					t.Fatalf("Stream err = %v", err)
				}
				wait(t, gone, "server to see the connection close")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tt.wantChunk {
				if _, err := s.Next(); err != nil {
					t.Fatal(err)
				}
			}
			_, err = s.Next()
			if err == nil || !tt.check(err) {
				t.Fatalf("Next err = %v (%T)", err, err)
			}
			wait(t, gone, "server to see the connection close")
		})
	}
}

// TestStreamIdleCountsEngineOnly checks that a slow consumer does not trip
// the idle timer: the events are already buffered.
func TestStreamIdleCountsEngineOnly(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, ev("a", "", ""), ev("b", "stop", ""), done)
	}), WithIdleTimeout(20*time.Millisecond))
	s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	// Outlast the idle timeout on the caller's side, without sleeping as
	// synchronisation: the timer below only makes the caller slow.
	<-time.After(60 * time.Millisecond)
	if _, err := drain(s); err != nil {
		t.Fatalf("slow consumer got %v", err)
	}
}

func TestStreamCutConnection(t *testing.T) {
	tests := []struct {
		name  string
		raw   string // written after hijacking, then the connection closes
		cause error
	}{
		{"chunked body cut", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunked(ev("par", "", "")) + chunked(ev("tial", "", "")), io.ErrUnexpectedEOF},
		{"close-delimited body ends", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" +
			ev("par", "", "") + ev("tial", "", ""), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				_, _ = buf.WriteString(tt.raw)
				_ = buf.Flush()
				conn.Close()
			}))
			s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = drain(s)
			var ce *StreamCutError
			if !errors.As(err, &ce) || ce.Text != "partial" || ce.CompletionTokens != 2 || !errors.Is(err, ErrStreamCut) || !errors.Is(err, tt.cause) {
				t.Fatalf("err = %v (%T), want *StreamCutError{partial, 2, %v}", err, err, tt.cause)
			}
		})
	}
}

// chunked frames s as one HTTP/1.1 chunk.
func chunked(s string) string {
	return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n"
}
