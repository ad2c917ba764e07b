package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/internal/golden"
)

// TestDialectGoldens records, per dialect, what crosses the wire for each
// kind of answer the client reads: the model list, the engine's own info
// route, context refusals (prompt plus max_tokens over the context, and a
// prompt alone over it), a streamed completion with usage, a mid-stream
// error event, /health while down, and the tokenizer. The goldens in
// testdata/<dialect>/ are reviewed against each engine's source (see the
// Dialect constants for the release).
func TestDialectGoldens(t *testing.T) {
	longPrompt := strings.Repeat("word ", 4200)
	prompt := "<|im_start|>user\n" + probs[0].Question + "<|im_end|>\n<|im_start|>assistant\n"
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			cfg := testConfig()
			cfg.Dialect = d
			cfg.Problems = probs
			srv, url := startServer(t, cfg)
			dir := string(d) + "/"
			get := func(name, path string) {
				resp, err := http.Get(url + path)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				golden.Check(t, dir+name, []byte(normaliseDialect(resp.StatusCode, string(raw))))
			}
			postTo := func(name, path string, body any) {
				raw, _ := json.Marshal(body)
				resp, err := http.Post(url+path, "application/json", bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				golden.Check(t, dir+name, []byte(normaliseDialect(resp.StatusCode, string(out))))
			}
			get("models.json", "/v1/models")
			switch d {
			case DialectLlamaCpp:
				get("props.json", "/props")
				postTo("tokenize.json", "/tokenize", map[string]any{"content": "Wait, 12 apples."})
				postTo("template.json", "/apply-template", map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}})
			case DialectTGI:
				get("info.json", "/info")
				postTo("tokenize.json", "/tokenize", map[string]any{"inputs": "Wait, 12 apples."})
				postTo("template.json", "/chat_tokenize", map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}})
			case DialectSGLang:
				postTo("tokenize.json", "/v1/tokenize", map[string]any{"prompt": "Wait, 12 apples."})
			default:
				postTo("tokenize.json", "/tokenize", map[string]any{"prompt": "Wait, 12 apples."})
				postTo("template.json", "/tokenize", map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}})
			}
			postTo("error_context_total.json", "/v1/completions", map[string]any{"model": "sim-test", "prompt": "hello world", "max_tokens": 4095, "temperature": 0})
			postTo("error_context_prompt.json", "/v1/completions", map[string]any{"model": "sim-test", "prompt": longPrompt, "max_tokens": 10})
			postTo("error_unknown_model.json", "/v1/completions", map[string]any{"model": "gpt-x", "prompt": "hi", "max_tokens": 1})
			postTo("error_stream_options.json", "/v1/completions", map[string]any{"prompt": "hi", "max_tokens": 1,
				"stream_options": map[string]any{"include_usage": true}})

			stream := map[string]any{"model": "sim-test", "prompt": prompt, "max_tokens": 200, "temperature": 0,
				"stream": true, "stop": []string{"Wait,"}, "stream_options": map[string]any{"include_usage": true}}
			postTo("stream_stop.sse", "/v1/completions", stream)
			after := 3
			inject := InjectErrorEvent
			if err := srv.SetKnobs(Knobs{Inject: &inject, InjectAfter: &after}); err != nil {
				t.Fatal(err)
			}
			postTo("stream_error_event.sse", "/v1/completions", stream)
			srv.SetDown(true)
			get("health_down.json", "/health")
			srv.SetDown(false)
			get("health_up.json", "/health")
		})
	}
}

var (
	chunkIDRE = regexp.MustCompile(`"id":"(?:chatcmpl|cmpl)-[0-9a-f]{32}"`)
	finishRE  = regexp.MustCompile(`"finish_reason":"[a-z]`)
)

// normaliseDialect replaces what changes between runs (ids, times, how the
// text was split into chunks) and prefixes the status.
func normaliseDialect(status int, body string) string {
	body = chunkIDRE.ReplaceAllString(body, `"id":"ID"`)
	body = createdRE.ReplaceAllString(body, `"created":0`)
	if strings.HasPrefix(body, "data: ") {
		// Content chunks depend on timing: keep the framing, the finishing
		// chunk and what follows it.
		var out []string
		for _, ev := range strings.Split(strings.TrimSpace(body), "\n\n") {
			if strings.Contains(ev, `"text":`) && !finishRE.MatchString(ev) && !strings.Contains(ev, `"usage":{`) {
				continue
			}
			out = append(out, textRE.ReplaceAllString(ev, `"text":"..."`))
		}
		body = strings.Join(out, "\n")
	}
	return http.StatusText(status) + "\n" + body + "\n"
}
