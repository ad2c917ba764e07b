package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// testConfig is a fast engine: 1000x real time.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Model = "sim-test"
	cfg.MaxModelLen = 4096
	cfg.KVCacheTokens = 65536
	cfg.Speedup = 1000
	cfg.Reasoner.ReasoningTokens = 120
	return cfg
}

// startServer runs a server on a loopback port for the test's lifetime.
func startServer(t *testing.T, cfg Config, opts ...Option) (*Server, string) {
	t.Helper()
	srv, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	url, err := srv.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, url
}

func post(t *testing.T, ctx context.Context, url string, body any) *http.Response {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return resp
}

// complete sends a non-streaming request and decodes the response.
func complete(t *testing.T, url string, body map[string]any) completionResponse {
	t.Helper()
	resp := post(t, t.Context(), url, body)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var out completionResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return out
}

// readSSE returns the data payloads of an SSE stream, [DONE] included.
func readSSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var events []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			events = append(events, data)
		}
	}
	return events
}

var (
	idRE      = regexp.MustCompile(`cmpl-[0-9a-f]{32}`)
	createdRE = regexp.MustCompile(`"created":\d+`)
)

// normalise replaces the parts of a response that change from run to run.
func normalise(s string) string {
	s = idRE.ReplaceAllString(s, "cmpl-ID")
	return createdRE.ReplaceAllString(s, `"created":0`)
}

// metricValue scrapes one series from /metrics.
func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("metric %s not found in:\n%s", name, raw)
	return 0
}
