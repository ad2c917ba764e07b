package curate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Pair is one line of a `grade --file` input: a model's answer (a bare
// answer or a whole response in prose) and the reference.
type Pair struct {
	ID        string `json:"id,omitempty"`
	Answer    string `json:"answer"`
	Reference string `json:"reference"`
}

// Graded is the outcome of one graded answer: what was extracted from each
// side, by which rule, and the comparison. Error is set instead when the
// input line was refused.
type Graded struct {
	Line      int         `json:"line,omitempty"`
	ID        string      `json:"id,omitempty"`
	Extracted *Extraction `json:"extracted,omitempty"`
	Reference *Extraction `json:"reference,omitempty"`
	Verdict   *Verdict    `json:"verdict,omitempty"`
	Error     string      `json:"error,omitempty"`
}

// GradeAnswer extracts the answer from answer (Extract) and from reference
// (ExtractReference: a bare reference is taken whole) and compares the two.
func (g *MathGrader) GradeAnswer(ctx context.Context, answer, reference string) Graded {
	a, r := Extract(answer), ExtractReference(reference)
	v := g.Grade(ctx, a.Answer, r.Answer)
	return Graded{Extracted: &a, Reference: &r, Verdict: &v}
}

// maxPairLine bounds one input line; a whole response fits easily.
const maxPairLine = 16 << 20

// GradeFile grades every line of a JSONL file of Pairs and calls emit once
// per input line, in order, blank lines included: a line that is not a valid
// Pair gets a Graded with Error set to "FILE:LINE: field "x": …" (the
// *trajectory.ParseError's text), so that output lines match input lines one
// to one. It returns how many lines were refused, or an error reading r or
// from emit.
func (g *MathGrader) GradeFile(ctx context.Context, r io.Reader, name string, emit func(Graded) error) (refused int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxPairLine)
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return refused, err
		}
		p, perr := decodePair(sc.Bytes())
		var out Graded
		if perr != nil {
			perr.File, perr.Line = name, line
			out = Graded{Line: line, Error: perr.Error()}
			refused++
		} else {
			out = g.GradeAnswer(ctx, p.Answer, p.Reference)
			out.Line, out.ID = line, p.ID
		}
		if err := emit(out); err != nil {
			return refused, err
		}
	}
	if err := sc.Err(); err != nil {
		return refused, fmt.Errorf("read %s: %w", name, err)
	}
	return refused, nil
}

// decodePair decodes one line strictly: unknown fields, wrong types and
// missing answer or reference are refused, naming the field.
func decodePair(b []byte) (Pair, *trajectory.ParseError) {
	var p Pair
	if len(bytes.TrimSpace(b)) == 0 {
		return p, &trajectory.ParseError{Err: errors.New("empty line, want a JSON object")}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		field, _, what := trajectory.DescribeJSONError(err)
		switch {
		case errors.Is(what, trajectory.ErrUnknownField):
			what = fmt.Errorf("%w (want id, answer, reference)", what)
		case field == "":
			what = fmt.Errorf("not a JSON object: %w", what)
		}
		return p, &trajectory.ParseError{Field: field, Err: what}
	}
	if dec.More() {
		return p, &trajectory.ParseError{Err: errors.New("text after the JSON object")}
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	for _, f := range []string{"answer", "reference"} {
		if _, ok := raw[f]; !ok {
			return p, &trajectory.ParseError{Field: f, Err: errors.New("missing")}
		}
	}
	return p, nil
}

// GradeTrajectory grades a math trajectory against reference: the answer
// is extracted again from the generated steps with Extract's rules (hint's
// own extraction is a basic one), replacing tr.Answer when one is found, and
// tr.Correct is set to the verdict.
func (g *MathGrader) GradeTrajectory(ctx context.Context, tr *trajectory.Trajectory, reference string) Verdict {
	if e := ExtractSteps(tr.Steps); e.Answer != "" {
		tr.Answer = e.Answer
	}
	v := g.Grade(ctx, tr.Answer, reference)
	eq := v.Equal
	tr.Correct = &eq
	return v
}
