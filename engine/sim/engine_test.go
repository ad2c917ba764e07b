package sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
)

// fakeClock advances only when the scheduler waits, by exactly the wait.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func TestTimeModel(t *testing.T) {
	tests := []struct {
		name      string
		prompt    string
		maxTokens int
	}{
		{"short", "hello", 10},
		{"long prompt", strings.Repeat("lorem ipsum dolor ", 100), 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Speedup = 1
			clk := &fakeClock{now: time.Unix(1000, 0)}
			srv, url := startServer(t, cfg, WithClock(clk))
			start := clk.Now()
			out := complete(t, url, map[string]any{"model": "sim-test", "prompt": tt.prompt, "max_tokens": tt.maxTokens, "ignore_eos": true})
			if out.Usage.CompletionTokens != tt.maxTokens {
				t.Fatalf("completion tokens = %d, want %d", out.Usage.CompletionTokens, tt.maxTokens)
			}
			m := srv.Model()
			want := m.StepTime(1, CountTokens(tt.prompt)) + time.Duration(tt.maxTokens-1)*m.StepTime(1, 0)
			if got := clk.Now().Sub(start); got != want {
				t.Fatalf("simulated time = %v, want %v", got, want)
			}
		})
	}
}

func TestIdealTokensPerSecond(t *testing.T) {
	m := Model{StepBase: 20 * time.Millisecond, StepPerSeq: time.Millisecond, Speedup: 1, SlowDown: 2}
	tests := []struct {
		batch int
		want  float64
	}{{0, 0}, {1, 1 / 0.042}, {10, 10 / 0.060}}
	for _, tt := range tests {
		if got := m.IdealTokensPerSecond(tt.batch); got < tt.want*0.999999 || got > tt.want*1.000001 {
			t.Errorf("IdealTokensPerSecond(%d) = %v, want %v", tt.batch, got, tt.want)
		}
	}
}

func TestCancelFreesSequence(t *testing.T) {
	cfg := testConfig()
	cfg.Speedup = 10
	_, url := startServer(t, cfg)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp := post(t, ctx, url, map[string]any{"model": "sim-test", "prompt": "hi", "max_tokens": 4000, "ignore_eos": true, "stream": true})
	defer resp.Body.Close()
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatalf("read first chunk: %v", err)
	}
	if got := metricValue(t, url, "vllm:num_requests_running"); got != 1 {
		t.Fatalf("running = %v, want 1", got)
	}
	cancel()
	eventually.True(t, 10*time.Second, "running to drop to 0", func() bool { return metricValue(t, url, "vllm:num_requests_running") == 0 })
	if got := metricValue(t, url, "vllm:kv_cache_usage_perc"); got != 0 {
		t.Fatalf("kv usage after cancel = %v, want 0", got)
	}
}

func TestPrefixCacheHit(t *testing.T) {
	_, url := startServer(t, testConfig())
	prompt := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 60)
	body := map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 2}
	complete(t, url, body)
	if hits := metricValue(t, url, "vllm:prefix_cache_hits_total"); hits != 0 {
		t.Fatalf("hits after first request = %v, want 0", hits)
	}
	complete(t, url, body)
	n := CountTokens(prompt)
	want := float64((n - 1) / BlockSize * BlockSize)
	if hits := metricValue(t, url, "vllm:prefix_cache_hits_total"); hits != want {
		t.Fatalf("hits = %v, want %v", hits, want)
	}
	if q := metricValue(t, url, "vllm:prefix_cache_queries_total"); q != float64(2*n) {
		t.Fatalf("queries = %v, want %v", q, 2*n)
	}
}

func TestDeterminism(t *testing.T) {
	cfg := testConfig()
	cfg.Problems = probs
	_, url := startServer(t, cfg)
	prompt := "Question: " + probs[0].Question + "\nAnswer:"
	text := func(extra map[string]any) string {
		body := map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 400}
		for k, v := range extra {
			body[k] = v
		}
		return complete(t, url, body).Choices[0].Text
	}
	if a, b := text(map[string]any{"temperature": 0}), text(map[string]any{"temperature": 0}); a != b {
		t.Fatalf("temperature 0 differs:\n%s\n---\n%s", a, b)
	}
	if a, b := text(map[string]any{"temperature": 0.7, "seed": 7}), text(map[string]any{"temperature": 0.7, "seed": 7}); a != b {
		t.Fatalf("same seed differs")
	}
	if a, b := text(map[string]any{"temperature": 0.7, "seed": 7}), text(map[string]any{"temperature": 0.7, "seed": 8}); a == b {
		t.Fatalf("seeds 7 and 8 gave the same text")
	}
}

func TestFaults(t *testing.T) {
	t.Run("error rate", func(t *testing.T) {
		cfg := testConfig()
		cfg.Faults.ErrorRate = 1
		_, url := startServer(t, cfg)
		resp := post(t, t.Context(), url, map[string]any{"model": "sim-test", "prompt": "hi"})
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 500 || !strings.Contains(string(raw), `"type":"InternalServerError"`) {
			t.Fatalf("got %d %s", resp.StatusCode, raw)
		}
	})
	t.Run("drop", func(t *testing.T) {
		cfg := testConfig()
		cfg.Faults.DropRate = 1
		_, url := startServer(t, cfg)
		resp := post(t, t.Context(), url, map[string]any{"model": "sim-test", "prompt": "hi", "max_tokens": 50, "ignore_eos": true, "stream": true})
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if strings.Contains(string(raw), "[DONE]") {
			t.Fatalf("dropped stream completed: %s", raw)
		}
		if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Logf("read error: %v", err) // chunked stream cut short
		}
		eventually.True(t, 10*time.Second, "running 0", func() bool { return metricValue(t, url, "vllm:num_requests_running") == 0 })
	})
	t.Run("queue full", func(t *testing.T) {
		cfg := testConfig()
		cfg.Speedup = 10
		cfg.MaxNumSeqs, cfg.MaxWaiting = 1, 1
		srv, url := startServer(t, cfg)
		long := map[string]any{"model": "sim-test", "prompt": "hi", "max_tokens": 4000, "ignore_eos": true, "stream": true}
		r1 := post(t, t.Context(), url, long)
		defer r1.Body.Close()
		eventually.True(t, 10*time.Second, "one running", func() bool { return metricValue(t, url, "vllm:num_requests_running") == 1 })
		r2 := post(t, t.Context(), url, long)
		defer r2.Body.Close()
		eventually.True(t, 10*time.Second, "one waiting", func() bool { return metricValue(t, url, "vllm:num_requests_waiting") == 1 })
		r3 := post(t, t.Context(), url, long)
		defer r3.Body.Close()
		if r3.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("third request: %d, want 503", r3.StatusCode)
		}
		// Closing the server ends the open streams.
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("knobs endpoint", func(t *testing.T) {
		srv, url := startServer(t, testConfig())
		resp, err := http.Post(url+"/sim/knobs", "application/json", strings.NewReader(`{"slow_down": 3, "error_rate": 0.25}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || srv.Model().SlowDown != 3 || *srv.CurrentKnobs().ErrorRate != 0.25 {
			t.Fatalf("knobs not applied: %d %+v", resp.StatusCode, srv.Model())
		}
		resp, err = http.Post(url+"/sim/knobs", "application/json", strings.NewReader(`{"slow_down": 0.5}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || srv.Model().SlowDown != 3 {
			t.Fatalf("bad knob accepted: %d", resp.StatusCode)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxNumSeqs, cfg.Speedup, cfg.Faults.DropRate = 0, 0, 2
	err := cfg.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
	}
	// Named as the flags are (issue 18 finding 10: Go field names before).
	for _, field := range []string{"max-num-seqs:", "speedup:", "drop-rate:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
	if strings.Contains(err.Error(), "Faults.") || strings.Contains(err.Error(), "MaxNumSeqs") {
		t.Errorf("error %q names Go fields", err)
	}
	if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New = %v", err)
	}
}

// TestGeneratedBlocksCached checks the continuation path hint relies on: a
// client cuts the generated text and sends prompt + text back, and the full
// blocks of generated text are found in the prefix cache, as vLLM's
// automatic prefix caching keeps decoded blocks too.
func TestGeneratedBlocksCached(t *testing.T) {
	cfg := testConfig()
	cfg.Problems = probs
	_, url := startServer(t, cfg)
	prompt := "Question: " + probs[0].Question + "\n"
	first := complete(t, url, map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 400})
	text := first.Choices[0].Text
	if CountTokens(text) < 3*BlockSize {
		t.Fatalf("generated only %d tokens; want several blocks", CountTokens(text))
	}
	before := metricValue(t, url, "vllm:prefix_cache_hits_total")
	cont := prompt + text[:len(text)*3/4]
	complete(t, url, map[string]any{"model": "sim-test", "prompt": cont + " Wait, maybe using Python here is a good idea.", "max_tokens": 2})
	hits := metricValue(t, url, "vllm:prefix_cache_hits_total") - before
	// Every full block of prompt + kept text is cached, but for the block
	// the cut falls in (and tokenisation at the cut may differ by one).
	want := float64((CountTokens(cont)/BlockSize - 1) * BlockSize)
	if hits < want {
		t.Fatalf("continuation hit %v cached tokens, want at least %v of %d", hits, want, CountTokens(cont))
	}
	// The cache accounting stays whole: nothing is left in use once idle.
	if got := metricValue(t, url, "vllm:kv_cache_usage_perc"); got != 0 {
		t.Fatalf("kv usage when idle = %v, want 0", got)
	}
}
