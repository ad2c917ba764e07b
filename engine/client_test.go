package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		opts    []Option
		wantErr bool
	}{
		{name: "defaults", url: "http://127.0.0.1:8000"},
		{name: "v1 suffix", url: "http://h:1/v1/"},
		{name: "all options", url: "https://h", opts: []Option{WithHTTPClient(&http.Client{}), WithModel("m"), WithAPIKey("k"),
			WithRetry(1, time.Millisecond, time.Millisecond), WithFirstTokenTimeout(time.Second), WithIdleTimeout(time.Second),
			WithLogger(slog.New(slog.DiscardHandler))}},
		{name: "no scheme", url: "127.0.0.1:8000", wantErr: true},
		{name: "ftp", url: "ftp://h", wantErr: true},
		{name: "nil http client", url: "http://h", opts: []Option{WithHTTPClient(nil)}, wantErr: true},
		{name: "empty model", url: "http://h", opts: []Option{WithModel("")}, wantErr: true},
		{name: "empty key", url: "http://h", opts: []Option{WithAPIKey("")}, wantErr: true},
		{name: "zero attempts", url: "http://h", opts: []Option{WithRetry(0, time.Second, time.Second)}, wantErr: true},
		{name: "max below base", url: "http://h", opts: []Option{WithRetry(3, time.Second, time.Millisecond)}, wantErr: true},
		{name: "negative first token", url: "http://h", opts: []Option{WithFirstTokenTimeout(-1)}, wantErr: true},
		{name: "negative idle", url: "http://h", opts: []Option{WithIdleTimeout(-1)}, wantErr: true},
		{name: "nil logger", url: "http://h", opts: []Option{WithLogger(nil)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.url, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) err = %v, wantErr %v", tt.url, err, tt.wantErr)
			}
			if err == nil && strings.HasSuffix(c.BaseURL(), "/v1") {
				t.Fatalf("BaseURL %q kept /v1", c.BaseURL())
			}
		})
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int  // replies in order; the last repeats
		retryAfter string // header on 429/503 replies
		attempts   int    // WithRetry max attempts
		wantCalls  int
		wantWaits  []time.Duration
		wantStatus int // 0: success
	}{
		{name: "503 then ok", statuses: []int{503, 200}, attempts: 4, wantCalls: 2, wantWaits: []time.Duration{100*time.Millisecond - 1}},
		{name: "503 429 then ok with backoff doubling", statuses: []int{503, 429, 200}, attempts: 4, wantCalls: 3,
			wantWaits: []time.Duration{100*time.Millisecond - 1, 200*time.Millisecond - 1}},
		{name: "backoff capped", statuses: []int{503, 503, 503, 503, 200}, attempts: 5, wantCalls: 5,
			wantWaits: []time.Duration{100*time.Millisecond - 1, 200*time.Millisecond - 1, 300*time.Millisecond - 1, 300*time.Millisecond - 1}},
		{name: "retry-after honoured", statuses: []int{429, 200}, retryAfter: "2", attempts: 4, wantCalls: 2, wantWaits: []time.Duration{2 * time.Second}},
		{name: "gives up", statuses: []int{503}, attempts: 3, wantCalls: 3, wantStatus: 503,
			wantWaits: []time.Duration{100*time.Millisecond - 1, 200*time.Millisecond - 1}},
		{name: "no retry on 400", statuses: []int{400}, attempts: 4, wantCalls: 1, wantStatus: 400},
		{name: "no retry on 404", statuses: []int{404}, attempts: 4, wantCalls: 1, wantStatus: 404},
		{name: "no retry on 422", statuses: []int{422}, attempts: 4, wantCalls: 1, wantStatus: 422},
		{name: "no retry on 500", statuses: []int{500}, attempts: 4, wantCalls: 1, wantStatus: 500},
	}
	for _, tt := range tests {
		for _, mode := range []string{"stream", "complete"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var calls atomic.Int32
				c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := int(calls.Add(1))
					st := tt.statuses[min(n, len(tt.statuses))-1]
					if st != 200 {
						if tt.retryAfter != "" {
							w.Header().Set("Retry-After", tt.retryAfter)
						}
						w.WriteHeader(st)
						fmt.Fprintf(w, `{"object":"error","message":"status %d","type":"E","param":null,"code":%d}`, st, st)
						return
					}
					if mode == "stream" {
						writeSSE(w, ev("ok", "stop", ""), done)
						return
					}
					fmt.Fprint(w, `{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"ok","logprobs":null,"finish_reason":"stop","stop_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
				}), WithRetry(tt.attempts, 100*time.Millisecond, 300*time.Millisecond))
				var err error
				if mode == "stream" {
					var s *Stream
					if s, err = c.Stream(testCtx(t), CompletionRequest{Prompt: "p"}); err == nil {
						_, err = drain(s)
						s.Close()
					}
				} else {
					var out *Completion
					if out, err = c.Complete(testCtx(t), CompletionRequest{Prompt: "p"}); err == nil && out.Text() != "ok" {
						t.Errorf("text = %q", out.Text())
					}
				}
				if got := int(calls.Load()); got != tt.wantCalls {
					t.Errorf("calls = %d, want %d", got, tt.wantCalls)
				}
				if fmt.Sprint(*waits) != fmt.Sprint(tt.wantWaits) {
					t.Errorf("waits = %v, want %v", *waits, tt.wantWaits)
				}
				var se *StatusError
				switch {
				case tt.wantStatus == 0 && err != nil:
					t.Fatalf("err = %v", err)
				case tt.wantStatus != 0 && (!errors.As(err, &se) || se.StatusCode != tt.wantStatus || se.Message != fmt.Sprintf("status %d", tt.wantStatus)):
					t.Fatalf("err = %v, want StatusError %d", err, tt.wantStatus)
				}
			})
		}
	}
}

// TestRetryConnection covers failures before any response byte: a refused
// dial and a connection the server drops without answering.
func TestRetryConnection(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, err := New("http://"+addr, WithRetry(3, time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var waits int
		c.sleep = func(ctx context.Context, d time.Duration) error { waits++; return nil }
		_, err = c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
		if err == nil || waits != 2 || !strings.Contains(err.Error(), "attempt 3") {
			t.Fatalf("err = %v after %d waits, want failure after 2 waits", err, waits)
		}
	})
	t.Run("dropped then ok", func(t *testing.T) {
		var calls atomic.Int32
		c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= 2 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			writeSSE(w, ev("ok", "stop", ""), done)
		}))
		s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		defer s.Close()
		if _, err := drain(s); err != nil || s.Text() != "ok" || len(*waits) != 2 {
			t.Fatalf("text %q err %v waits %v", s.Text(), err, *waits)
		}
	})
}

// TestNoRetryAfterText checks that a stream failing after delivering text
// surfaces the failure instead of silently re-sending.
func TestNoRetryAfterText(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeSSE(w, ev("a", "", ""))
	}))
	s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := drain(s); !errors.Is(err, ErrStreamCut) || calls.Load() != 1 {
		t.Fatalf("err = %v, calls = %d", err, calls.Load())
	}
}

func TestDecodeStatusError(t *testing.T) {
	tests := []struct {
		name string
		body string
		want StatusError
	}{
		{"vllm flat", `{"object":"error","message":"max_tokens too large","type":"BadRequestError","param":"max_tokens","code":400}`,
			StatusError{Type: "BadRequestError", Message: "max_tokens too large", Param: "max_tokens", Code: "400"}},
		{"vllm null param", `{"object":"error","message":"m","type":"NotFoundError","param":null,"code":404}`,
			StatusError{Type: "NotFoundError", Message: "m", Code: "404"}},
		{"openai nested", `{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			StatusError{Type: "invalid_request_error", Message: "bad key", Code: "invalid_api_key"}},
		{"llama.cpp loading", `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`,
			StatusError{Type: "unavailable_error", Message: "Loading model", Code: "503"}},
		{"tgi", `{"error":"Input validation error: inputs too long","error_type":"validation"}`,
			StatusError{Type: "validation", Message: "Input validation error: inputs too long"}},
		{"not json", `<html>bad gateway</html>`, StatusError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeStatusError(418, []byte(tt.body))
			if got.StatusCode != 418 || string(got.Body) != tt.body || got.Type != tt.want.Type || got.Message != tt.want.Message ||
				got.Param != tt.want.Param || got.Code != tt.want.Code {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			if got.Error() == "" {
				t.Fatal("empty Error()")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"junk", 0}, {"100000", maxRetryAfter},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"cmpl-9","object":"text_completion","created":5,"model":"m","choices":[{"index":0,"text":"42","logprobs":null,"finish_reason":"stop","stop_reason":"</answer>","prompt_logprobs":null}],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}`)
	}))
	out, err := c.Complete(testCtx(t), CompletionRequest{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Text() != "42" || out.Choices[0].StopReason != "</answer>" || out.Usage.CompletionTokens != 2 || out.ID != "cmpl-9" {
		t.Fatalf("got %+v", out)
	}
}

func TestCompleteBadRequest(t *testing.T) {
	tests := []struct {
		name string
		req  CompletionRequest
	}{
		{"negative max tokens", CompletionRequest{MaxTokens: -1}},
		{"negative n", CompletionRequest{N: -1}},
		{"extra collides", CompletionRequest{Extra: map[string]any{"prompt": "x"}}},
		{"extra not json", CompletionRequest{Extra: map[string]any{"f": func() {}}}},
	}
	c, err := New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Complete(testCtx(t), tt.req); err == nil {
				t.Fatal("want error")
			}
			if _, err := c.Stream(testCtx(t), tt.req); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestModelsAndHealth(t *testing.T) {
	var healthy atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"object":"list","data":[{"id":"Qwen/QwQ-32B","object":"model","created":1,"owned_by":"vllm","root":"/models/qwq","parent":null,"max_model_len":32768,"permission":[]}]}`)
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`)
		}
	})
	c, _ := newTestClient(t, mux)
	ms, err := c.Models(testCtx(t))
	if err != nil || len(ms) != 1 || ms[0] != (Model{ID: "Qwen/QwQ-32B", OwnedBy: "vllm", Created: 1, Root: "/models/qwq", MaxModelLen: 32768}) {
		t.Fatalf("Models = %+v, %v", ms, err)
	}
	var se *StatusError
	if err := c.Health(testCtx(t)); !errors.As(err, &se) || se.StatusCode != 503 || se.Message != "Loading model" {
		t.Fatalf("Health while loading = %v", err)
	}
	healthy.Store(true)
	if err := c.Health(testCtx(t)); err != nil {
		t.Fatalf("Health = %v", err)
	}
}

// TestLogsRedactKey checks that retry logs carry no credential.
func TestLogsRedactKey(t *testing.T) {
	var buf bytes.Buffer
	var calls atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		writeSSE(w, ev("a", "stop", ""), done)
	}), WithAPIKey("sk-never-in-logs"), WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	s, err := c.Stream(testCtx(t), CompletionRequest{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if buf.Len() == 0 || strings.Contains(buf.String(), "never-in-logs") {
		t.Fatalf("log = %q", buf.String())
	}
}
