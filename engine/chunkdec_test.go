package engine

import (
	"encoding/json"
	"reflect"
	"testing"
)

var chunkSeeds = []string{
	`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`,
	`{"id":"c","choices":[{"index":0,"text":"","finish_reason":"length","stop_reason":null}],"usage":null}`,
	`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
	`{"choices":[{"index":0,"text":"a","stop_reason":"</answer>"}]}`,
	`{"choices":[{"index":1,"text":"\u00e9\n\"q\"","finish_reason":null}]}`,
	`{"error":{"message":"boom","code":500}}`,
	`{"object":"error","message":"m","type":"BadRequestError","param":null,"code":400}`,
	` { "choices" : [ { "index" : 2 , "text" : "世界" } , {"index":3} ] , "created" : -1.5e3 } `,
	`{"Choices":[{"Text":"x"}]}`, `{"choices":null}`, `{"choices":[{"text":null}]}`, `{}`, `null`, `[]`,
	`{"choices":[{"index":0,"text":"a"}]} x`, `{"choices":[{"index":01}]}`, `{"a":tru}`, "{\"choices\":[{\"text\":\"\xff\"}]}",
	`{"choices":[{"index":0,"text":"a","text":"b"}]}`, `{"k":"\x"}`, `{"n":1.}`, `{"n":-}`, `{"choices":[{"index":0,"logprobs":{"x":1}}]}`,
}

func TestFastDecodeMatchesJSON(t *testing.T) {
	for _, s := range chunkSeeds {
		checkFastDecode(t, []byte(s))
	}
	// The hot shape must take the fast path.
	var w wireChunk
	if !fastDecode([]byte(chunkSeeds[0]), &w) || len(w.Choices) != 1 || w.Choices[0].Text != " tok" {
		t.Fatalf("fast path refused the vLLM token chunk: %+v", w)
	}
}

// checkFastDecode requires that whenever fastDecode accepts input, encoding/json
// accepts it too and decodes the same.
func checkFastDecode(t *testing.T, in []byte) {
	t.Helper()
	var fast wireChunk
	if !fastDecode(in, &fast) {
		return
	}
	var slow wireChunk
	if err := json.Unmarshal(in, &slow); err != nil {
		t.Fatalf("fastDecode accepted %q, encoding/json rejects it: %v", in, err)
	}
	if len(fast.Choices) == 0 && len(slow.Choices) == 0 {
		fast.Choices, slow.Choices = nil, nil
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("input %q:\nfast %+v\njson %+v", in, fast, slow)
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastDecode)
}

// TestFastDecodeAllocs guards the per-token budget: one allocation, the text.
func TestFastDecodeAllocs(t *testing.T) {
	in := []byte(chunkSeeds[0])
	var w wireChunk
	allocs := testing.AllocsPerRun(1000, func() {
		w.Choices = w.Choices[:0]
		fastDecode(in, &w)
	})
	if allocs > 1 {
		t.Fatalf("fastDecode allocates %v times per chunk, want ≤ 1", allocs)
	}
}
