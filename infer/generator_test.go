package infer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/trajectory"
)

// fixedTool answers every code fence with the same output, at once.
type fixedTool struct{}

func (fixedTool) Open(context.Context, string) (hint.ToolSession, error) { return fixedTool{}, nil }
func (fixedTool) Exec(context.Context, string, string) (hint.ToolResult, error) {
	return hint.ToolResult{Output: "2\n"}, nil
}
func (fixedTool) Languages() []string         { return []string{"python"} }
func (fixedTool) Close(context.Context) error { return nil }

// countingClient is a client for url whose replies are counted by status.
func countingClient(t *testing.T, url string) (*engine.Client, *statusCounter) {
	t.Helper()
	counter := &statusCounter{rt: http.DefaultTransport.(*http.Transport).Clone()}
	hc := &http.Client{Transport: counter}
	t.Cleanup(hc.CloseIdleConnections)
	return newClient(t, url, engine.WithHTTPClient(hc)), counter
}

// TestTrajectoryGeneratorSizesRequests runs each problem through a shared
// Generator, which sizes each request from the prompt's bytes and the
// engine's tokenizer, and through a per-trajectory generator from
// Engines.Pick, which sizes its requests from the trajectory's history. The
// trajectories must be the same, and neither side is ever refused for the
// context length: the engine states it (/v1/models). With ignore_eos every
// trajectory runs into the context's end, and must end there, finishing
// "length", on both sides (the text differs: the sim continues its filler
// differently from prompt plus text than within one stream).
func TestTrajectoryGeneratorSizesRequests(t *testing.T) {
	problems := append(loadProblems(t, "gsm8k", 6), loadProblems(t, "math500", 6)...)
	cfg := simConfig(problems, 50)
	cfg.MaxModelLen = 700
	_, url := startSim(t, cfg)
	for _, extra := range []map[string]any{nil, {"ignore_eos": true}} {
		fill := extra != nil
		sharedC, sharedN := countingClient(t, url)
		shared := infer.Generator{Client: sharedC, Extra: extra}
		sizedC, sizedN := countingClient(t, url)
		engs, err := infer.NewEngines([]*engine.Client{sizedC}, extra)
		if err != nil {
			t.Fatal(err)
		}
		requests := 0
		for _, p := range problems {
			want, err := hint.Run(t.Context(), shared, fixedTool{}, p, paperHints())
			if err != nil {
				t.Fatalf("%s shared: %v", p.ID, err)
			}
			got, err := hint.Run(t.Context(), engs.Pick(), fixedTool{}, p, paperHints())
			if err != nil {
				t.Fatalf("%s sized: %v", p.ID, err)
			}
			requests += want.Requests
			// Token counts are not compared: a request cut short counts its
			// chunks, and how many tokens the sim sends per chunk depends on
			// timing.
			if got.FinishReason != want.FinishReason || got.Requests != want.Requests || got.Hints != want.Hints || got.ToolCalls != want.ToolCalls {
				t.Errorf("%s: sized trajectory ends %s after %d requests, %d hints, %d tool calls; shared %s, %d, %d, %d",
					p.ID, got.FinishReason, got.Requests, got.Hints, got.ToolCalls, want.FinishReason, want.Requests, want.Hints, want.ToolCalls)
			}
			if !fill {
				if got.Text != want.Text {
					t.Errorf("%s: sized trajectory's text differs:\n got %q\nwant %q", p.ID, got.Text, want.Text)
				}
				continue
			}
			for side, tr := range map[string]trajectory.Trajectory{"shared": want, "sized": got} {
				if n := sim.CountTokens(tr.Prompt + tr.Text); tr.FinishReason != trajectory.FinishLength || n < cfg.MaxModelLen-2 || n > cfg.MaxModelLen {
					t.Errorf("%s: %s trajectory ends %s at %d tokens; want length at the context's %d", p.ID, side, tr.FinishReason, n, cfg.MaxModelLen)
				}
			}
		}
		refusedShared, refusedSized := sharedN.count(http.StatusBadRequest), sizedN.count(http.StatusBadRequest)
		t.Logf("ignore_eos %v: %d trajectories, %d requests; refused: shared %d, sized %d; sized streams %d",
			fill, len(problems), requests, refusedShared, refusedSized, sizedN.count(http.StatusOK))
		if refusedShared != 0 || refusedSized != 0 || shared.Refusals() != 0 {
			t.Errorf("refused %d times (shared) and %d (sized) for %d requests; want none from an engine that states its context",
				refusedShared, refusedSized, requests)
		}
	}
}

// TestPromptTooLongFailsTheTrajectory: a problem whose prompt alone fills
// the engine's context cannot run on it; the trajectory's generator says so
// with ErrPromptTooLong (so the task is retried and then dead-lettered)
// rather than returning an empty trajectory that finished "length".
func TestPromptTooLongFailsTheTrajectory(t *testing.T) {
	problems := loadProblems(t, "gsm8k", 1)
	cfg := simConfig(problems, 50)
	cfg.MaxModelLen = 40
	_, url := startSim(t, cfg)
	engs, err := infer.NewEngines([]*engine.Client{newClient(t, url)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := hint.Run(t.Context(), engs.Pick(), fixedTool{}, problems[0], paperHints())
	if !errors.Is(err, infer.ErrPromptTooLong) {
		t.Fatalf("run ended %s with %v; want ErrPromptTooLong", tr.FinishReason, err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the engine %s", err, url)
	}
}
