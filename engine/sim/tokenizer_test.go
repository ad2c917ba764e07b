package sim

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"words", "Hello world", []string{"Hello", " world"}},
		{"digits", "x=48/2", []string{"x", "=", "4", "8", "/", "2"}},
		{"long word", "internationalization", []string{"inte", "rnat", "iona", "liza", "tion"}},
		{"space long word", " extraordinary", []string{" extr", "aord", "inar", "y"}},
		{"newlines", "a\n\nb", []string{"a", "\n\n", "b"}},
		{"double space", "a  b", []string{"a", "  ", "b"}},
		{"trailing space", "a ", []string{"a", " "}},
		{"punct", "Wait, no.", []string{"Wait", ",", " no", "."}},
		{"unicode", "é ∑x", []string{"é", " ∑", "x"}},
		{"fence", "```python\n", []string{"`", "`", "`", "python", "\n"}},
		{"invalid utf8", "a\xffb", []string{"a", "\xff", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tokenize(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := CountTokens(tt.in); n != len(tt.want) {
				t.Fatalf("CountTokens(%q) = %d, want %d", tt.in, n, len(tt.want))
			}
		})
	}
}

func FuzzTokenize(f *testing.F) {
	f.Add("Wait, maybe using Python here is a good idea.")
	f.Add("```python\nprint(48/2)\n```")
	f.Add(" \xff\x00é  \n")
	f.Fuzz(func(t *testing.T, s string) {
		pieces := Tokenize(s)
		if got := strings.Join(pieces, ""); got != s {
			t.Fatalf("Tokenize is lossy: %q -> %q", s, got)
		}
		for _, p := range pieces {
			if p == "" {
				t.Fatalf("empty piece in %q", s)
			}
		}
		if CountTokens(s) != len(pieces) {
			t.Fatalf("CountTokens disagrees with Tokenize on %q", s)
		}
	})
}
