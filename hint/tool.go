package hint

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hintfleet/hintfleet/trajectory"
)

// langAliases maps fence languages to the canonical names tools declare.
var langAliases = map[string]string{"py": "python", "python3": "python", "py3": "python"}

func canonicalLang(lang string) string {
	if c, ok := langAliases[lang]; ok {
		return c
	}
	return lang
}

// callTool runs the fence that was just closed (the text ends with its
// closing backticks), records the code and output steps and appends the
// output block.
func (r *runner) callTool(ctx context.Context, f fence) error {
	codeStart := max(f.start, r.stepStart)
	r.flushGenTo(codeStart)
	r.addStep(trajectory.Step{Kind: trajectory.StepCode, Offset: codeStart, Lang: f.lang}, len(r.buf))
	code := ""
	if f.close > f.body {
		code = strings.TrimSuffix(string(r.buf[f.body:f.close]), "\n")
	}
	r.invite = ""
	t0 := r.c.Now()
	res, err := r.tools.Exec(ctx, f.lang, code)
	r.tr.Timings.ToolMS += ms(r.c.Now().Sub(t0))
	if err != nil {
		r.sc.reset(len(r.buf))
		return r.fail(ctx, fmt.Errorf("%w: exec %s: %w", ErrTool, f.lang, err))
	}
	out, truncated := formatOutput(res, r.c.OutputLimit)
	exit := res.ExitCode
	r.appendStep(trajectory.Step{
		Kind: trajectory.StepOutput, Text: out, ExitCode: &exit, ErrorKind: res.ErrorKind,
		Truncated: truncated, ToolMS: ms(res.Duration),
	})
	r.sc.reset(len(r.buf))
	r.tr.ToolCalls++
	return nil
}

// truncMark ends output cut to Config.OutputLimit, so the model (and a
// reader of the data) knows there was more.
const truncMark = "\n... (output truncated)"

// formatOutput renders a result as the block the model sees:
// "\n```output\n<output>\n```\n". Output over limit bytes is cut at a rune
// boundary and marked.
func formatOutput(res ToolResult, limit int) (string, bool) {
	out := strings.TrimRight(res.Output, "\n")
	truncated := res.Truncated
	if len(out) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut]
		truncated = true
	}
	if truncated {
		out += truncMark
	}
	return "\n```output\n" + out + "\n```\n", truncated
}
