package hint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Instructions appended to the question, per problem kind. MathInstruction is
// the one QwQ and DeepSeek-R1 are evaluated with.
const (
	MathInstruction = `Please reason step by step, and put your final answer within \boxed{}.`
	CodeInstruction = "Please reason step by step, then write your final solution as a complete Python program in a single ```python code block."
)

// Template renders a problem into a raw-completion prompt for one model
// family and declares the strings that end the model's thinking and its turn.
type Template struct {
	Name string
	// ThinkEnd are markers that end the model's thinking ("</think>"); a stop
	// may be deferred there. Empty when the model marks nothing, then only
	// its end of turn is deferred.
	ThinkEnd []string
	// Stop are end-of-turn strings passed to the engine as stop strings; the
	// engine stopping on one counts as the model's own stop (EOS).
	Stop []string
	tmpl *template.Template
	// chat renders through the engine's own chat template instead of tmpl
	// (EngineTemplate).
	chat ChatRenderer
}

// ChatRenderer renders one user message through the served model's own
// chat template, with the assistant's turn opened: the engine's tokenizer
// or template route (engine.Client.RenderChat). Declared here so that hint
// needs no engine import.
type ChatRenderer interface {
	RenderChat(ctx context.Context, user string) (string, error)
}

// EngineTemplateName is the --template value that selects EngineTemplate.
const EngineTemplateName = "engine"

// EngineTemplate returns a template that asks the engine to render the
// problem (question and instruction as one user message) with the served
// model's exact chat template, so any model gets its own format without a
// built-in template. The engine does not say how the model marks the end of
// its thinking or its turn: thinkEnd (nil: "</think>", the marker of current
// reasoning models) and stop (nil: none; the engine stops at the model's EOS
// itself) say it.
func EngineTemplate(r ChatRenderer, thinkEnd, stop []string) *Template {
	if thinkEnd == nil {
		thinkEnd = []string{"</think>"}
	}
	return &Template{Name: EngineTemplateName, ThinkEnd: thinkEnd, Stop: stop, chat: r}
}

// templateData is what a template sees.
type templateData struct {
	Question    string
	Instruction string
	Kind        trajectory.Kind
}

// Render returns the prompt for p: Question, Instruction (by p.Kind) and Kind
// are available to the template. An EngineTemplate needs the engine: use
// RenderContext.
func (t *Template) Render(p trajectory.Problem) (string, error) {
	if t.chat != nil {
		return "", fmt.Errorf("%w: %s: rendering through the engine needs a context (RenderContext)", ErrTemplate, t.Name)
	}
	return t.renderText(p)
}

// RenderContext is Render for every kind of template: an EngineTemplate asks
// the engine, within ctx.
// A failure of the engine is ErrEngine (the task is retried), not
// ErrTemplate.
func (t *Template) RenderContext(ctx context.Context, p trajectory.Problem) (string, error) {
	if t.chat == nil {
		return t.renderText(p)
	}
	d := data(p)
	out, err := t.chat.RenderChat(ctx, d.Question+"\n\n"+d.Instruction)
	if err != nil {
		return "", fmt.Errorf("%w: render the prompt through the engine's chat template: %w", ErrEngine, err)
	}
	return out, nil
}

func data(p trajectory.Problem) templateData {
	d := templateData{Question: p.Question, Instruction: MathInstruction, Kind: p.Kind}
	if p.Kind == trajectory.KindCode {
		d.Instruction = CodeInstruction
	}
	return d
}

func (t *Template) renderText(p trajectory.Problem) (string, error) {
	d := data(p)
	var b strings.Builder
	if err := t.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("%w: render %s: %v", ErrTemplate, t.Name, err)
	}
	return b.String(), nil
}

// isStop reports whether a stop string ends the model's turn.
func (t *Template) isStop(s string) bool { return slices.Contains(t.Stop, s) }

var builtins = map[string]string{
	// QwQ-32B-Preview, START's base model: Qwen2.5 chat with QwQ's system
	// prompt; it ends thinking with a "**Final Answer**" section.
	"qwq-preview": `# think_end: **Final Answer**
# stop: <|im_end|>
# stop: <|endoftext|>
---
<|im_start|>system
You are a helpful and harmless assistant. You are Qwen developed by Alibaba. You should think step-by-step.<|im_end|>
<|im_start|>user
{{.Question}}

{{.Instruction}}<|im_end|>
<|im_start|>assistant
`,
	// QwQ-32B: the same chat format, thinking inside <think>…</think>.
	"qwq": `# think_end: </think>
# stop: <|im_end|>
# stop: <|endoftext|>
---
<|im_start|>user
{{.Question}}

{{.Instruction}}<|im_end|>
<|im_start|>assistant
<think>
`,
	"deepseek-r1": `# think_end: </think>
# stop: <｜end▁of▁sentence｜>
---
<｜begin▁of▁sentence｜><｜User｜>{{.Question}}

{{.Instruction}}<｜Assistant｜><think>
`,
	"llama3": `# stop: <|eot_id|>
# stop: <|end_of_text|>
---
<|begin_of_text|><|start_header_id|>user<|end_header_id|>

{{.Question}}

{{.Instruction}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

`,
}

// BuiltinTemplates lists the names BuiltinTemplate knows.
func BuiltinTemplates() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// BuiltinTemplate returns a template shipped with hintfleet: "qwq-preview"
// (the default), "qwq", "deepseek-r1" or "llama3".
func BuiltinTemplate(name string) (*Template, error) {
	src, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownTemplate, name, strings.Join(BuiltinTemplates(), ", "))
	}
	return ParseTemplate(name, []byte(src))
}

// LoadTemplate reads a template file; see ParseTemplate for its format.
func LoadTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	return ParseTemplate(path, data)
}

// ParseTemplate parses a template: header lines "key: value" (each may start
// with "# "), a line "---", then a Go text/template body that renders the
// prompt from {{.Question}}, {{.Instruction}} and {{.Kind}}. Keys:
// think_end and stop, each repeatable; a value in double quotes is unquoted
// as a Go string (for markers with spaces or newlines at the ends). name is
// used in errors ("file:line: ...").
func ParseTemplate(name string, data []byte) (*Template, error) {
	head, body, ok := bytes.Cut(data, []byte("\n---\n"))
	if !ok {
		if bytes.HasPrefix(data, []byte("---\n")) {
			head, body = nil, data[4:]
		} else {
			return nil, fmt.Errorf("%w: %s: no \"---\" line between header and body", ErrTemplate, name)
		}
	}
	t := &Template{Name: name}
	for i, line := range strings.Split(string(head), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: want \"key: value\"", ErrTemplate, name, i+1)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if strings.HasPrefix(val, `"`) {
			u, err := strconv.Unquote(val)
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: field %q: %v", ErrTemplate, name, i+1, key, err)
			}
			val = u
		}
		if val == "" {
			return nil, fmt.Errorf("%w: %s:%d: field %q: empty value", ErrTemplate, name, i+1, key)
		}
		switch key {
		case "think_end":
			t.ThinkEnd = append(t.ThinkEnd, val)
		case "stop":
			t.Stop = append(t.Stop, val)
		default:
			return nil, fmt.Errorf("%w: %s:%d: unknown field %q", ErrTemplate, name, i+1, key)
		}
	}
	tm, err := template.New(name).Option("missingkey=error").Parse(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTemplate, name, err)
	}
	t.tmpl = tm
	if _, err := t.Render(trajectory.Problem{Question: "?"}); err != nil {
		return nil, err
	}
	return t, nil
}
