package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkThroughputVsModel streams fixed-length outputs (ignore_eos) from
// batch concurrent clients over real HTTP and compares the decode rate while
// the batch is full against Model.IdealTokensPerSecond. Each batch size gets
// a speedup that keeps the chunk rate within what two shared cores serve.
// Run once: go test -run '^$' -bench . -benchtime 1x ./engine/sim/
func BenchmarkThroughputVsModel(b *testing.B) {
	b.ReportAllocs()
	cases := []struct {
		batch, tokens int
		speedup       float64
	}{{1, 1200, 40}, {16, 800, 10}, {64, 400, 4}}
	worst := 0.0
	for i := 0; i < b.N; i++ {
		for _, c := range cases {
			got, want := measureThroughput(b, c.batch, c.tokens, c.speedup)
			errPct := math.Abs(got-want) / want * 100
			worst = math.Max(worst, errPct)
			fmt.Printf("BENCH sim_tokens_per_s_b%d %.1f tok/s\n", c.batch, got)
			fmt.Printf("BENCH sim_model_tokens_per_s_b%d %.1f tok/s\n", c.batch, want)
		}
	}
	fmt.Printf("BENCH sim_model_error_pct %.2f pct\n", worst)
}

// measureThroughput returns the measured and the modelled tokens per
// simulated second at one batch size.
func measureThroughput(b *testing.B, batch, tokens int, speedup float64) (got, want float64) {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Model = "sim-bench"
	cfg.MaxNumSeqs = batch
	cfg.Speedup = speedup
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	url, err := srv.Start(b.Context(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: batch + 1, MaxIdleConnsPerHost: batch + 1}}
	defer client.CloseIdleConnections()
	body := fmt.Sprintf(`{"model":"sim-bench","prompt":"Say something.","max_tokens":%d,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`, tokens)
	// Each client records when each chunk arrived and how many tokens it
	// carried (more than one when the reader fell behind), from vLLM's
	// continuous usage stats.
	type stamp struct {
		at     time.Time
		tokens int
	}
	stamps := make([][]stamp, batch)
	var wg sync.WaitGroup
	errs := make(chan error, batch)
	for c := 0; c < batch; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, url+"/v1/completions", strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			seen := 0
			for sc.Scan() {
				line := sc.Text()
				data, ok := strings.CutPrefix(line, "data: ")
				if !ok || data == "[DONE]" {
					continue
				}
				var chunk completionResponse
				if json.Unmarshal([]byte(data), &chunk) != nil || chunk.Usage == nil || len(chunk.Choices) == 0 {
					continue
				}
				// Usage is cumulative: the chunk carried the difference.
				n := chunk.Usage.CompletionTokens - seen
				seen = chunk.Usage.CompletionTokens
				stamps[c] = append(stamps[c], stamp{time.Now(), n})
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// Window: from the moment every client has its first token to the
	// moment the first client has its last, when the batch is exactly full.
	var start, end time.Time
	for _, s := range stamps {
		if len(s) == 0 {
			b.Fatal("a client got no tokens")
		}
		if first := s[0].at; first.After(start) {
			start = first
		}
		if last := s[len(s)-1].at; end.IsZero() || last.Before(end) {
			end = last
		}
	}
	n := 0
	for _, s := range stamps {
		for _, st := range s {
			if st.at.After(start) && !st.at.After(end) {
				n += st.tokens
			}
		}
	}
	m := srv.Model()
	simulated := m.Simulated(end.Sub(start)).Seconds()
	return float64(n) / simulated, m.IdealTokensPerSecond(batch)
}
