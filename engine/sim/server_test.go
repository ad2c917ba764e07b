package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/internal/golden"
	"github.com/hintfleet/hintfleet/trajectory"
)

var probs = []trajectory.Problem{{
	ID: "gsm8k/0", Dataset: "gsm8k", Kind: trajectory.KindMath,
	Question: "Janet has 48 apples and gives half of them away. How many apples does she have left?",
	Answer:   "24", Solution: "She gives away 48/2 = <<48/2=24>>24 apples, so 24 are left.",
}}

func TestCompletionsGolden(t *testing.T) {
	cfg := testConfig()
	cfg.Problems = probs
	_, url := startServer(t, cfg)
	prompt := "<|im_start|>user\n" + probs[0].Question + "<|im_end|>\n<|im_start|>assistant\n"
	tests := []struct {
		name   string
		body   map[string]any
		stream bool
	}{
		{"nonstream_length.json", map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 12, "temperature": 0}, false},
		{"nonstream_stop.json", map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 200, "temperature": 0, "stop": []string{"Wait,"}}, false},
		{"stream_usage.sse", map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 6, "temperature": 0, "stream": true,
			"stream_options": map[string]any{"include_usage": true}}, true},
		{"stream_stop.sse", map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 200, "temperature": 0, "stream": true, "stop": "Wait,"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, t.Context(), url, tt.body)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !tt.stream {
				raw, _ := io.ReadAll(resp.Body)
				golden.Check(t, tt.name, []byte(normalise(string(raw))+"\n"))
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("content type %q", ct)
			}
			// Chunk boundaries depend on timing; the golden holds the
			// merged text, the last chunks and the framing.
			events := readSSE(t, resp.Body)
			var text strings.Builder
			var tail []string
			for i, ev := range events {
				if ev == "[DONE]" {
					tail = append(tail, ev)
					continue
				}
				var c completionResponse
				if err := json.Unmarshal([]byte(ev), &c); err != nil {
					t.Fatalf("event %d %q: %v", i, ev, err)
				}
				if len(c.Choices) == 1 {
					text.WriteString(c.Choices[0].Text)
					if c.Choices[0].FinishReason == nil {
						if !strings.Contains(ev, `"finish_reason":null`) || !strings.Contains(ev, `"stop_reason":null`) || !strings.Contains(ev, `"usage":null`) {
							t.Fatalf("content chunk lacks null fields: %s", ev)
						}
						continue
					}
				}
				// The last chunk's text depends on how many tokens the
				// reader merged; the text above holds all of it.
				tail = append(tail, textRE.ReplaceAllString(normalise(ev), `"text":"..."`))
			}
			golden.Check(t, tt.name, []byte("text: "+text.String()+"\n"+strings.Join(tail, "\n")+"\n"))
		})
	}
}

var textRE = regexp.MustCompile(`"text":"(?:[^"\\]|\\.)*"`)

func TestCompletionErrors(t *testing.T) {
	cfg := testConfig()
	_, url := startServer(t, cfg)
	tests := []struct {
		name       string
		body       any
		wantStatus int
		golden     string
	}{
		{"bad json", `{"model": "sim-test", "prompt": `, 400, "error_bad_json.json"},
		{"unknown model", map[string]any{"model": "gpt-x", "prompt": "hi"}, 404, "error_unknown_model.json"},
		{"context", map[string]any{"model": "sim-test", "prompt": "hello world", "max_tokens": 4095}, 400, "error_context.json"},
		{"max tokens zero", map[string]any{"model": "sim-test", "prompt": "hi", "max_tokens": 0}, 400, "error_max_tokens.json"},
		{"prompt ids", map[string]any{"model": "sim-test", "prompt": []int{1, 2}}, 400, ""},
		{"no prompt", map[string]any{"model": "sim-test"}, 400, ""},
		{"negative temperature", map[string]any{"model": "sim-test", "prompt": "hi", "temperature": -1}, 400, ""},
		{"bad stop", map[string]any{"model": "sim-test", "prompt": "hi", "stop": 3}, 400, ""},
		{"n=2", map[string]any{"model": "sim-test", "prompt": "hi", "n": 2}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, t.Context(), url, tt.body)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, raw)
			}
			var e struct{ Error vllmErrorInfo }
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code != tt.wantStatus || e.Error.Message == "" {
				t.Fatalf("error body %s (%v)", raw, err)
			}
			if tt.golden != "" {
				golden.Check(t, tt.golden, []byte(string(raw)+"\n"))
			}
		})
	}
}

func TestModelsHealthMetrics(t *testing.T) {
	_, url := startServer(t, testConfig())
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	golden.Check(t, "models.json", []byte(normalise(string(raw))+"\n"))

	resp, err = http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(raw) != 0 {
		t.Fatalf("health: %d %q", resp.StatusCode, raw)
	}
	for _, name := range []string{"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
		"vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:prefix_cache_queries_total",
		"vllm:prefix_cache_hits_total", "vllm:time_to_first_token_seconds_count", "vllm:e2e_request_latency_seconds_count"} {
		metricValue(t, url, name)
	}
}

// TestListenAndServeAnnounces: the announced address is the one served,
// and ctx's end stops the server without an error.
func TestListenAndServeAnnounces(t *testing.T) {
	srv, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("announced %q, want \"listening on http://…\"", line)
	}
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/health: %s", url, resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe after ctx's end: %v", err)
	}
}

// TestRun: the sim-engine command serves the engine of its config on the
// announced address until ctx ends, and refuses a bad config before it
// listens.
func TestRun(t *testing.T) {
	bad := testConfig()
	bad.Dialect = "cobol"
	var said strings.Builder
	if err := Run(t.Context(), bad, "127.0.0.1:0", &said); !errors.Is(err, ErrInvalidConfig) || said.Len() != 0 {
		t.Errorf("Run with dialect cobol = %v, announced %q; want ErrInvalidConfig and nothing said", err, said.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, testConfig(), "127.0.0.1:0", pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, _ := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), testConfig().Model) {
		t.Errorf("GET /v1/models = %s, want the model %q", body, testConfig().Model)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after ctx's end: %v", err)
	}
}
