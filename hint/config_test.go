package hint

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the joined error
	}{
		{"zero", Config{}, nil},
		{"first needs k", Config{Policy: Policy{Mode: TriggerFirst}}, []string{"policy.k"}},
		{"several", Config{Policy: Policy{Mode: "sometimes", DeferStop: -1}, TopP: 2, Triggers: []string{""}},
			[]string{"policy.mode", "policy.defer_stop", "top_p", "triggers"}},
		{"prob range", Config{Policy: Policy{Mode: TriggerProb, P: 1.5}}, []string{"policy.p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := Run(context.Background(), &fakeGen{}, nil, mathProblem, Config{Pick: "x"}); !errors.Is(err, ErrConfig) {
		t.Errorf("Run with a bad config: err = %v, want ErrConfig", err)
	}
}

func TestTemplates(t *testing.T) {
	q := trajectory.Problem{Question: "Q?", Kind: trajectory.KindMath}
	want := map[string]string{
		"qwq-preview": "<|im_start|>system\nYou are a helpful and harmless assistant. You are Qwen developed by Alibaba. You should think step-by-step.<|im_end|>\n<|im_start|>user\nQ?\n\n" + MathInstruction + "<|im_end|>\n<|im_start|>assistant\n",
		"qwq":         "<|im_start|>user\nQ?\n\n" + MathInstruction + "<|im_end|>\n<|im_start|>assistant\n<think>\n",
		"deepseek-r1": "<｜begin▁of▁sentence｜><｜User｜>Q?\n\n" + MathInstruction + "<｜Assistant｜><think>\n",
		"llama3":      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nQ?\n\n" + MathInstruction + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
	}
	for _, name := range BuiltinTemplates() {
		tm, err := BuiltinTemplate(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.Render(q)
		if err != nil {
			t.Fatal(err)
		}
		if got != want[name] {
			t.Errorf("%s: got %q, want %q", name, got, want[name])
		}
		code, _ := tm.Render(trajectory.Problem{Question: "Q?", Kind: trajectory.KindCode})
		if !strings.Contains(code, CodeInstruction) {
			t.Errorf("%s: code prompt lacks the code instruction", name)
		}
	}
	if _, err := BuiltinTemplate("gpt"); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("err = %v, want ErrUnknownTemplate", err)
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"ok", "# think_end: </think>\n# stop: \"<end>\\n\"\n---\nQ: {{.Question}}\n", ""},
		{"unknown field", "# colour: red\n---\n{{.Question}}", `t.tmpl:1: unknown field "colour"`},
		{"no separator", "{{.Question}}", "no \"---\""},
		{"bad body", "---\n{{.Nope}}", "Nope"},
		{"bad quote", "stop: \"x\n---\nx", `t.tmpl:1: field "stop"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := ParseTemplate("t.tmpl", []byte(tt.src))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(tm.ThinkEnd) != 1 || tm.Stop[0] != "<end>\n" {
					t.Errorf("parsed %+v", tm)
				}
				return
			}
			if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want ErrTemplate containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLibrary(t *testing.T) {
	lib := DefaultLibrary()
	if n := len(lib.For(trajectory.KindMath)); n != 10 {
		t.Errorf("math hints = %d, want 10", n)
	}
	if n := len(lib.For(trajectory.KindCode)); n != 5 {
		t.Errorf("code hints = %d, want 5", n)
	}
	for _, h := range lib.Hints() {
		if !strings.HasPrefix(h.Text, "Wait,") && !strings.HasPrefix(h.Text, "Alternatively,") {
			t.Errorf("hint %q does not read as the model's own thought", h.Text)
		}
	}
	tests := []struct {
		name, src, wantErr string
		n                  int
	}{
		{"lines", "# comment\nmath: Wait, use Python.\n\nany: \"Wait,\\n```python\\n\"\n", "", 2},
		{"json", `[{"kind":"code","text":"Wait, test it.","lang":"python"}]`, "", 1},
		{"json unknown field", `[{"kind":"code","txt":"x"}]`, "unknown field", 0},
		{"bad kind", "poetry: Wait.", "lib.txt:1:", 0},
		{"no colon", "math: ok\njust text", "lib.txt:2:", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLibrary("lib.txt", []byte(tt.src))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Hints()) != tt.n {
					t.Errorf("hints = %d, want %d", len(l.Hints()), tt.n)
				}
				return
			}
			if !errors.Is(err, ErrLibrary) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want ErrLibrary containing %q", err, tt.wantErr)
			}
		})
	}
}
