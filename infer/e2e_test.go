package infer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/trajectory"
)

// e2eSpeedup runs the simulated GPU this many times faster than real time:
// fast enough for a test, slow enough that two shared cores keep up with
// concurrency 8.
const e2eSpeedup = 50

// TestEndToEnd runs Hint-infer over real HTTP against engine/sim with the
// real sandboxed python plugin on 10 GSM8K and 10 MATH500 problems, and
// checks what only the whole pipeline can show: the trajectory contract,
// that tool output is what Python really printed, that answers depend on the
// tool, that resume writes each task once, and that trajectories spread
// over engines without moving between them.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the sim engine and the sandboxed python plugin")
	}
	problems := append(loadProblems(t, "gsm8k", 10), loadProblems(t, "math500", 10)...)
	py := startPython(t, 4)
	cfg := simConfig(problems, e2eSpeedup)
	// A low accuracy without tools makes the tool's effect on answers plain.
	cfg.Reasoner.Accuracy = 0.3
	_, url := startSim(t, cfg)
	eng := newEngines(t, url)
	working := &infer.Tools{Router: py}

	run := func(t *testing.T, tools *infer.Tools, out string) *infer.Summary {
		t.Helper()
		opt := infer.Options{Samples: 1, Label: "e2e", Hint: paperHints(), Concurrency: 8, Out: out, Grader: &curate.MathGrader{}}
		if tools != nil {
			opt.Tools = tools
		}
		sum, err := infer.Run(t.Context(), eng, problems, opt)
		if err != nil {
			t.Fatalf("infer.Run: %v", err)
		}
		if sum.Trajectories != len(problems) || sum.Errors != 0 {
			t.Fatalf("trajectories %d errors %d, want %d and 0", sum.Trajectories, sum.Errors, len(problems))
		}
		return sum
	}

	workOut := filepath.Join(t.TempDir(), "paper.jsonl")
	workSum := run(t, working, workOut)
	trs := readTrajectories(t, workOut)

	t.Run("steps concatenate to text", func(t *testing.T) {
		for _, tr := range trs {
			var b strings.Builder
			for i, s := range tr.Steps {
				if s.Offset != b.Len() {
					t.Errorf("%s step %d (%s): offset %d, want %d", tr.TaskID, i, s.Kind, s.Offset, b.Len())
				}
				b.WriteString(s.Text)
			}
			if b.String() != tr.Text {
				t.Errorf("%s: steps concatenate to %q\nwant text %q", tr.TaskID, b.String(), tr.Text)
			}
		}
	})

	t.Run("output is what python printed", func(t *testing.T) {
		calls := 0
		for _, tr := range trs {
			// A trajectory whose reasoning has no trigger word gets no hint
			// (the stop is not deferred by default) and calls no tool.
			if tr.Hints > 0 && tr.ToolCalls == 0 {
				t.Errorf("%s: %d hints but no tool call (finish %s)", tr.TaskID, tr.Hints, tr.FinishReason)
			}
			for i, s := range tr.Steps {
				if s.Kind != trajectory.StepOutput {
					continue
				}
				calls++
				if i == 0 || tr.Steps[i-1].Kind != trajectory.StepCode {
					t.Fatalf("%s step %d: output without a code step before it", tr.TaskID, i)
				}
				code := codeOf(tr.Steps[i-1].Text)
				want := runPython(t, code)
				if got := outputOf(s.Text); got != want {
					t.Errorf("%s step %d: output %q, python printed %q for\n%s", tr.TaskID, i, got, want, code)
				}
				if s.ExitCode == nil || *s.ExitCode != 0 || s.ErrorKind != "" {
					t.Errorf("%s step %d: exit %v kind %q, want 0 and none", tr.TaskID, i, s.ExitCode, s.ErrorKind)
				}
			}
		}
		if calls < len(problems)*3/4 {
			t.Errorf("%d tool calls over %d problems, want most problems to call the tool", calls, len(problems))
		}
	})

	t.Run("broken tool loses the tool's answers", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			tools *infer.Tools
		}{
			{"traceback", &infer.Tools{Router: brokenRouter{}}},
			{"empty stdout", &infer.Tools{Router: brokenRouter{emptyStdout: true}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sum := run(t, tc.tools, filepath.Join(t.TempDir(), "broken.jsonl"))
				if sum.ToolCalls == 0 {
					t.Fatalf("no tool calls with the broken tool: the comparison says nothing")
				}
				if got, want := sum.Accuracy(), workSum.Accuracy(); !(got < want) {
					t.Errorf("accuracy with the tool broken %.2f, with it working %.2f: want lower", got, want)
				}
			})
		}
		if workSum.Accuracy() < 0.9 {
			t.Errorf("accuracy with the working tool %.2f (%d/%d), want >= 0.9: the sim's code computes the reference",
				workSum.Accuracy(), workSum.Correct, workSum.Graded)
		}
	})

	t.Run("rerun resumes and runs nothing", func(t *testing.T) {
		before := countLines(t, workOut)
		sum := run(t, working, workOut)
		if sum.Skipped != len(problems) || sum.NewTokens != 0 {
			t.Errorf("rerun: skipped %d new tokens %d, want %d and 0", sum.Skipped, sum.NewTokens, len(problems))
		}
		if after := countLines(t, workOut); after != before {
			t.Errorf("rerun changed the file: %d lines, was %d", after, before)
		}
	})

	t.Run("cancelled half-way then resumed", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "cancel.jsonl")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		opt := infer.Options{Samples: 1, Hint: paperHints(), Tools: working, Concurrency: 4, Out: out,
			Progress: func(s infer.Summary) {
				if s.Trajectories >= len(problems)/2 {
					cancel()
				}
			}}
		if _, err := infer.Run(ctx, eng, problems, opt); err == nil {
			t.Fatal("cancelled run returned no error")
		}
		partial := countLines(t, out)
		if partial < len(problems)/2 || partial >= len(problems) {
			t.Fatalf("cancelled run wrote %d lines, want at least %d and fewer than %d", partial, len(problems)/2, len(problems))
		}
		opt.Progress = nil
		sum, err := infer.Run(t.Context(), eng, problems, opt)
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if sum.Skipped != partial {
			t.Errorf("resume skipped %d, want the %d already written", sum.Skipped, partial)
		}
		assertOncePerTask(t, out, problems)
	})

	t.Run("two engines", func(t *testing.T) {
		rec := &requestLog{}
		urls := []string{startRecordedSim(t, cfg, rec), startRecordedSim(t, cfg, rec)}
		out := filepath.Join(t.TempDir(), "two.jsonl")
		sum, err := infer.Run(t.Context(), newEngines(t, urls...), problems,
			infer.Options{Samples: 1, Hint: paperHints(), Tools: working, Concurrency: 8, Out: out})
		if err != nil || sum.Errors != 0 {
			t.Fatalf("infer.Run: %v (errors %d)", err, sum.Errors)
		}
		trs := readTrajectories(t, out)
		per := map[string]int{}
		for _, tr := range trs {
			per[tr.Engine.URL]++
		}
		for _, u := range urls {
			if per[u] == 0 {
				t.Errorf("engine %s ran no trajectory (spread %v)", u, per)
			}
		}
		// Every request of a trajectory went to the engine it records. The
		// log holds requests the engine answered with 200; refusals (a
		// max_tokens beyond the context, retried smaller by the Generator)
		// are not requests in the trajectory's count.
		for _, tr := range trs {
			n := 0
			for _, r := range rec.all() {
				if !strings.HasPrefix(r.prompt, tr.Prompt) {
					continue
				}
				if r.url != tr.Engine.URL {
					t.Errorf("%s: a refused request went to %s, trajectory says %s", tr.TaskID, r.url, tr.Engine.URL)
				}
				if r.status != http.StatusOK {
					continue
				}
				n++
				if r.url != tr.Engine.URL {
					t.Errorf("%s: a request went to %s, trajectory says %s", tr.TaskID, r.url, tr.Engine.URL)
				}
			}
			if n != tr.Requests {
				t.Errorf("%s: engines saw %d requests, trajectory counts %d", tr.TaskID, n, tr.Requests)
			}
		}
	})
}

// runPython runs the sim's (trusted) code outside the sandbox and returns
// its stdout as the output block shows it: trailing newlines dropped.
func runPython(t *testing.T, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, debianPython, "-c", code)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3 -c: %v\n%s\ncode:\n%s", err, stderr.String(), code)
	}
	return strings.TrimRight(stdout.String(), "\n")
}

// assertOncePerTask checks that out holds exactly one line per problem.
func assertOncePerTask(t *testing.T, out string, problems []trajectory.Problem) {
	t.Helper()
	if n := countLines(t, out); n != len(problems) {
		t.Errorf("%s: %d lines, want %d", out, n, len(problems))
	}
	seen := map[string]int{}
	for _, tr := range readTrajectories(t, out) {
		seen[tr.ProblemID]++
	}
	for _, p := range problems {
		if seen[p.ID] != 1 {
			t.Errorf("problem %s written %d times, want once", p.ID, seen[p.ID])
		}
	}
}

// requestLog records which engine each completion request reached.
type requestLog struct {
	mu   sync.Mutex
	reqs []loggedRequest
}

type loggedRequest struct {
	url, prompt string
	status      int
}

func (l *requestLog) add(r loggedRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

// statusWriter keeps the status a handler sent and passes flushes on, so
// that streaming works through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	// sent, when set, is called once with the status as it goes out:
	// before the client can see the response end, so a log it writes is
	// complete once the client's run is (a defer after ServeHTTP may run
	// after the client has read a streamed response to its end).
	sent func(int)
}

func (w *statusWriter) setStatus(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.sent != nil {
		w.sent(code)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

func (l *requestLog) all() []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loggedRequest(nil), l.reqs...)
}

// startRecordedSim serves a sim engine behind a handler that logs every
// completion prompt with the engine's URL, and returns that URL.
func startRecordedSim(t *testing.T, cfg sim.Config, rec *requestLog) string {
	t.Helper()
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var url string
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/completions" {
			srv.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req struct {
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, sent: func(code int) {
			rec.add(loggedRequest{url: url, prompt: req.Prompt, status: code})
		}}
		srv.ServeHTTP(sw, r)
		sw.setStatus(http.StatusOK) // a handler that wrote nothing: net/http sends 200
	}))
	url = "http://" + ts.Listener.Addr().String()
	ts.Start()
	// The engine ends every open stream first, so the HTTP server's Close
	// does not wait on a handler.
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return url
}
