package hint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecConfig(t *testing.T) {
	dir := t.TempDir()
	tmplFile := filepath.Join(dir, "t.tmpl")
	libFile := filepath.Join(dir, "hints.txt")
	if err := os.WriteFile(tmplFile, []byte("think_end: </think>\n---\nQ: {{.Question}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(libFile, []byte("math: Wait, try Python.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := int64(100)
	paper := Spec{Template: DefaultTemplate, Hints: HintsPaper, Policy: Policy{Mode: TriggerFirst, K: 2, DeferStop: 1},
		MaxToolCalls: 3, MaxTokens: 1000, SampleSeed: &seed}
	for _, tc := range []struct {
		name  string
		spec  Spec
		local bool
		check func(t *testing.T, c Config)
		err   []string // substrings of the error; nil: no error
	}{
		{name: "paper", spec: paper, check: func(t *testing.T, c Config) {
			if c.Policy != paper.Policy || c.MaxToolCalls != 3 || c.MaxTokens != 1000 || c.Library != nil || c.Template == nil {
				t.Errorf("config %+v does not carry the spec %+v", c, paper)
			}
			if c.Seed != 3 || c.SampleSeed == nil || *c.SampleSeed != 103 {
				t.Errorf("seeds %d/%v, want the sample 3 and 100+3", c.Seed, c.SampleSeed)
			}
		}},
		{name: "none drops the policy and caps hints", spec: Spec{Hints: HintsNone, Policy: Policy{Mode: TriggerEvery, DeferStop: 2}, MaxHints: 5},
			check: func(t *testing.T, c Config) {
				if c.Policy != (Policy{}) || c.MaxHints != -1 {
					t.Errorf("policy %+v, max hints %d; want none and -1", c.Policy, c.MaxHints)
				}
			}},
		{name: "zero spec", spec: Spec{}, check: func(t *testing.T, c Config) {
			if c.Template != nil || c.Library != nil {
				t.Errorf("zero spec set template or library: %+v", c)
			}
		}},
		{name: "files refused for a job", spec: Spec{Template: tmplFile, Hints: libFile},
			err: []string{`field "template"`, `field "hints"`}},
		{name: "files loaded locally", spec: Spec{Template: tmplFile, Hints: libFile}, local: true,
			check: func(t *testing.T, c Config) {
				if c.Template == nil || c.Library == nil {
					t.Errorf("local files not loaded: %+v", c)
				}
			}},
		{name: "unknown template", spec: Spec{Template: "nope"}, err: []string{`field "template"`, "unknown template"}},
		{name: "missing file locally", spec: Spec{Template: filepath.Join(dir, "missing")}, local: true,
			err: []string{"nor a readable file", "missing"}},
		{name: "policy checked", spec: Spec{Policy: Policy{Mode: TriggerProb, P: 2}, TopP: -1},
			err: []string{"policy.p", "top_p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := tc.spec.Config
			if tc.local {
				build = tc.spec.LocalConfig
			}
			c, err := build(3)
			if tc.err != nil {
				if err == nil {
					t.Fatalf("no error, want %q", tc.err)
				}
				for _, w := range tc.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
	if _, err := (Spec{Template: "nope"}).Config(0); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: %v, want ErrUnknownTemplate", err)
	}
	if _, err := (Spec{Hints: libFile}).Config(0); !errors.Is(err, ErrConfig) {
		t.Errorf("library file in a job: %v, want ErrConfig", err)
	}
}
