package hint

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// TestRunFinishes gives every way an engine can end a request a defined
// outcome: abort and error are resumed from the text so far (Resumes times
// in a row), repetition ends the trajectory with its own reason, a stream
// the Generator marks ErrInterrupted (a cut, a restart, an error event) is
// resumed, and any other stream error or unknown finish fails the run with
// ErrEngine and the reason in the trajectory, which the worker hands back
// for a retry.
func TestRunFinishes(t *testing.T) {
	cut := fmt.Errorf("%w: connection reset mid-stream", ErrInterrupted)
	garbage := errors.New("engine http://e: /v1/completions sent a chunk without choices")
	tests := []struct {
		name     string
		resps    []resp
		resumes  int
		finish   string
		err      error
		requests int
		text     string
	}{
		{"abort is resumed", []resp{{Text: "The sum", Finish: GenAbort}, {Text: " is \\boxed{5}."}},
			0, trajectory.FinishStop, nil, 2, "The sum is \\boxed{5}."},
		{"error is resumed", []resp{{Text: "The sum", Finish: GenError}, {Text: " is \\boxed{5}."}},
			0, trajectory.FinishStop, nil, 2, "The sum is \\boxed{5}."},
		{"aborts past the limit fail", []resp{{Text: "a", Finish: GenAbort}, {Text: "b", Finish: GenAbort}, {Text: "c", Finish: GenAbort}},
			0, trajectory.FinishError, ErrEngine, 3, "abc"},
		{"resumes off", []resp{{Text: "a", Finish: GenError}}, -1, trajectory.FinishError, ErrEngine, 1, "a"},
		{"repetition ends it", []resp{{Text: "la la la la", Finish: GenRepetition}},
			0, trajectory.FinishRepetition, nil, 1, "la la la la"},
		{"interrupted stream is resumed", []resp{{Text: "The sum", Err: cut}, {Text: " is \\boxed{5}."}},
			0, trajectory.FinishStop, nil, 2, "The sum is \\boxed{5}."},
		{"other stream error fails", []resp{{Text: "The sum", Err: garbage}},
			0, trajectory.FinishError, ErrEngine, 1, "The sum"},
		{"unknown finish fails", []resp{{Text: "x", Finish: "content_filter"}},
			0, trajectory.FinishError, ErrEngine, 1, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := &fakeGen{resps: tt.resps}
			cfg := Config{Policy: Policy{Mode: TriggerProb, P: 0}, Resumes: tt.resumes, Template: mustTemplate("qwq")}
			tr, err := Run(context.Background(), gen, nil, mathProblem, cfg)
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tr.FinishReason != tt.finish || tr.Requests != tt.requests || tr.Text != tt.text {
				t.Fatalf("finish %q after %d requests, text %q; want %q, %d, %q", tr.FinishReason, tr.Requests, tr.Text, tt.finish, tt.requests, tt.text)
			}
			if err != nil && tr.Error == "" {
				t.Fatal("failed trajectory without its reason")
			}
			for i, req := range gen.reqs[1:] {
				if want := tr.Prompt + tr.Text[:len(req.Prompt)-len(tr.Prompt)]; req.Prompt != want {
					t.Fatalf("request %d prompt does not continue the text so far: %q", i+1, req.Prompt)
				}
			}
		})
	}
}

type chatFunc func(ctx context.Context, user string) (string, error)

func (f chatFunc) RenderChat(ctx context.Context, user string) (string, error) { return f(ctx, user) }

// TestEngineTemplate renders the prompt through the engine's chat template
// and keeps an engine failure there a retryable ErrEngine, not a bad
// template.
func TestEngineTemplate(t *testing.T) {
	tm := EngineTemplate(chatFunc(func(_ context.Context, user string) (string, error) {
		return "<user>" + user + "</user><assistant>", nil
	}), nil, nil)
	tr, err := Run(context.Background(), &fakeGen{resps: []resp{{Text: "\\boxed{5}"}}}, nil, mathProblem,
		Config{Template: tm, Policy: Policy{Mode: TriggerNone}})
	if err != nil || tr.Prompt != "<user>What is 2+3?\n\n"+MathInstruction+"</user><assistant>" || tr.Answer != "5" {
		t.Fatalf("prompt %q answer %q err %v", tr.Prompt, tr.Answer, err)
	}
	if _, err := tm.Render(mathProblem); !errors.Is(err, ErrTemplate) {
		t.Fatalf("Render without a context: %v, want ErrTemplate", err)
	}
	down := EngineTemplate(chatFunc(func(context.Context, string) (string, error) { return "", errors.New("503") }), nil, nil)
	if _, err := Run(context.Background(), &fakeGen{}, nil, mathProblem, Config{Template: down}); !errors.Is(err, ErrEngine) || errors.Is(err, ErrTemplate) {
		t.Fatalf("engine down: %v, want ErrEngine", err)
	}
}
