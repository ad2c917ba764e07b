package coordinator_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/hintfleet/hintfleet/coordinator"
)

// FuzzDecodeSpec: the job-spec decoder never panics, refuses only with
// ErrInvalidSpec, decodes a stream read a byte at a time exactly as the
// whole body, and what it accepts survives Validate without panicking.
func FuzzDecodeSpec(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","dataset":"math500","samples":4}`,
		"{\n  \"model\": \"m\",\n  \"sampels\": 4\n}",
		`{"model":"m","problems_jsonl":"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"1\"}\n","samples":9223372036854775807}`,
		`{"model":"m","problems_path":"../../etc/shadow"}`,
		`{"model":"m","dataset":"math500","hint":{"policy":{"mode":"first","k":2}}}`,
		`{"model":"m"} {}`, `[`, ``, `{"samples":1e400}`, "{\"model\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		whole, err1 := coordinator.DecodeSpec(body)
		stream, err2 := coordinator.DecodeSpecFrom(iotest.OneByteReader(bytes.NewReader(body)))
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("whole body: %v; byte stream: %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, coordinator.ErrInvalidSpec) {
				t.Fatalf("refusal %v does not wrap ErrInvalidSpec", err1)
			}
			return
		}
		if !reflect.DeepEqual(whole, stream) {
			t.Fatalf("whole %+v, stream %+v", whole, stream)
		}
		if err := whole.Validate(); err != nil && !errors.Is(err, coordinator.ErrInvalidSpec) {
			t.Fatalf("Validate: %v does not wrap ErrInvalidSpec", err)
		}
	})
}
