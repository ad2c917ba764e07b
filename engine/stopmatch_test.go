package engine

import (
	"strings"
	"testing"
)

// FuzzMatchStops holds the client-side stop matching (for llama.cpp and
// TGI, which do not say which stop string matched) to what an engine that
// does would give: whatever the chunking, the text handed out is the text up
// to the first stop string, excluded, and the stop reason is that string;
// without a match all the text comes out by the finishing chunk.
func FuzzMatchStops(f *testing.F) {
	f.Add("The answer is 5.\n```output\n5\n```", "```output", "</think>", uint8(3))
	f.Add("abcabcabd", "abd", "", uint8(2))
	f.Add("no stop here", "zz", "q", uint8(1))
	f.Fuzz(func(t *testing.T, text, stop1, stop2 string, size uint8) {
		var stops []string
		for _, s := range []string{stop1, stop2} {
			if s != "" {
				stops = append(stops, s)
			}
		}
		if len(stops) == 0 {
			return
		}
		n := int(size%7) + 1
		s := &Stream{stops: stops}
		var got strings.Builder
		var reason any
		for i := 0; i < len(text) && !s.stopped; i += n {
			ch := Chunk{Text: text[i:min(i+n, len(text))]}
			if i+n >= len(text) {
				ch.FinishReason = "length"
			}
			s.matchStops(&ch)
			got.WriteString(ch.Text)
			if s.stopped {
				reason = ch.StopReason
			}
		}
		want, wantReason := text, any(nil)
		at := -1
		for _, st := range stops {
			if i := strings.Index(text, st); i >= 0 && (at < 0 || i < at) {
				at, wantReason = i, st
			}
		}
		if at >= 0 {
			want = text[:at]
		}
		if at >= 0 && reason != nil && reason != wantReason {
			// Two stops matching at the same place: either is right.
			if strings.Index(text, reason.(string)) != at {
				t.Fatalf("stop %q, want %q", reason, wantReason)
			}
		}
		if got.String() != want || (at >= 0) != (reason != nil) {
			t.Fatalf("text %q chunked by %d, stops %q: got %q (stop %v), want %q (stop %v)", text, n, stops, got.String(), reason, want, wantReason)
		}
	})
}
