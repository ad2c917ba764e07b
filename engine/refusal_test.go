package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestContextRefusalRecorded reads every recorded refusal in
// testdata/refusals (see its README for where each comes from) and checks
// the numbers ContextRefusal takes from it.
func TestContextRefusalRecorded(t *testing.T) {
	want := map[string]Refusal{
		"vllm_renderer_recorded": {Limit: 16384, Prompt: 10243, MaxTokens: 6142},
		"vllm_max_model_len":     {Limit: 32768, MaxTokens: 40000},
		"vllm_018":               {Limit: 32768, Prompt: 28769, PromptAtLeast: true, MaxTokens: 4000},
		"vllm_legacy":            {Limit: 32768, Prompt: 116, MaxTokens: 32768},
		"vllm_legacy_prompt":     {Limit: 4096, Prompt: 4201},
		"vllm_016_too_large":     {Limit: 32768, Prompt: 25000, MaxTokens: 8192},
		"sglang_total":           {Limit: 32768, Prompt: 27336, MaxTokens: 8192},
		"sglang_prompt":          {Limit: 524288, Prompt: 703005},
		"llamacpp_exceed":        {Limit: 8192, Prompt: 9000},
		"tgi_total":              {Limit: 4097, Prompt: 4000, MaxTokens: 1024},
		"tgi_input":              {Limit: 4097, Prompt: 5000},
		"tgi_stream_event":       {Limit: 4097, Prompt: 4000, MaxTokens: 1024},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "refusals", "*.json"))
	if err != nil || len(files) != len(want) {
		t.Fatalf("recorded refusals: %d files (%v), want %d", len(files), err, len(want))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		name, statusText, _ := strings.Cut(name, ".")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			status, _ := strconv.Atoi(statusText)
			se := decodeStatusError(status, body)
			if status == 200 { // an in-stream event: its code says the status
				se.StatusCode = codeStatus(se.Code, 200)
			}
			got, ok := ContextRefusal(fmt.Errorf("engine: %w", se))
			if !ok || got != want[name] {
				t.Fatalf("ContextRefusal = %+v, %v; want %+v", got, ok, want[name])
			}
		})
	}
}

func TestContextRefusalOthers(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"not a status error", errors.New("boom"), false},
		{"overload", &StatusError{StatusCode: 503, Message: "context length is only 10"}, false},
		{"bad param", &StatusError{StatusCode: 400, Message: "temperature must be non-negative", Param: "temperature"}, false},
		{"structured, no numbers", &StatusError{StatusCode: 400, Param: "input_tokens", Message: "too long"}, true},
		{"unknown words", &StatusError{StatusCode: 400, Message: "Prompt exceeds the context length of this model"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := ContextRefusal(tt.err); ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

// FuzzContextRefusal holds the recogniser to never panicking and never
// reading a negative number from any body.
func FuzzContextRefusal(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "refusals", "*.json"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(400, b)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, _ := ContextRefusal(decodeStatusError(status, body))
		if r.Limit < 0 || r.Prompt < 0 || r.MaxTokens < 0 {
			t.Fatalf("negative refusal %+v from %q", r, body)
		}
	})
}
