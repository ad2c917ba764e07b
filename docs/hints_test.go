package docs

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/hint"
)

// hintExample is a fenced block of hints.md in one of the library formats.
var hintExample = regexp.MustCompile("(?s)```(hints|json)\n(.*?)\n```\n")

// TestHintExamplesParse parses every example library in hints.md with the
// real parser, so the page cannot show a format the code refuses.
func TestHintExamplesParse(t *testing.T) {
	data, err := os.ReadFile("hints.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := hintExample.FindAllStringSubmatch(string(data), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d example libraries in hints.md, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		lib, err := hint.ParseLibrary("hints.md", []byte(b[2]))
		if err != nil {
			t.Errorf("example %d (%s): %v", i, b[1], err)
			continue
		}
		if len(lib.Hints()) == 0 {
			t.Errorf("example %d (%s): no hints", i, b[1])
		}
	}
}

// TestHintLibraryErrors checks the error shapes hints.md promises: the file
// and line, and the field where there is one.
func TestHintLibraryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no colon", "math: ok\n\nno kind here\n", `hints.txt:3: want "kind: text"`},
		{"bad quote", "math: ok\ncode: \"open\n", `hints.txt:2: field "text"`},
		{"unknown kind", "math: ok\nmaths: Wait.\n", `hints.txt:2: `},
		{"json unknown field", `[{"txt": "Wait."}]`, `hints.txt:1: field "txt": unknown field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hint.ParseLibrary("hints.txt", []byte(tc.in))
			if err == nil {
				t.Fatalf("ParseLibrary accepted %q", tc.in)
			}
			if !errors.Is(err, hint.ErrLibrary) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrLibrary containing %q", err, tc.want)
			}
		})
	}
}

// TestHintLangFromJSON: a JSON hint's lang is what makes a bare fence count
// as that tool's language, which the page relies on for tools beyond Python.
func TestHintLangFromJSON(t *testing.T) {
	lib, err := hint.ParseLibrary("x.json", []byte(`[{"lang": "bash", "text": "Wait, a shell."}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := lib.Hints()[0].Lang; got != "bash" {
		t.Fatalf("lang = %q, want bash", got)
	}
}

// TestTemplateExamplesParse parses every prompt template shown in hints.md
// (the MCP one, in a four-backtick fence since it holds fences) with the
// real parser.
func TestTemplateExamplesParse(t *testing.T) {
	data, err := os.ReadFile("hints.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)\n````template\n(.*?)\n````\n").FindAllStringSubmatch(string(data), -1)
	if len(blocks) == 0 {
		t.Fatal("no template example in hints.md")
	}
	for i, b := range blocks {
		tmpl, err := hint.ParseTemplate("hints.md", []byte(b[1]))
		if err != nil {
			t.Errorf("template %d: %v", i, err)
			continue
		}
		if !strings.Contains(b[1], "mcp:everything.get-sum") || tmpl == nil {
			t.Errorf("template %d does not teach the mcp fence", i)
		}
	}
}
