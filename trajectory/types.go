package trajectory

import (
	"strconv"
	"strings"
	"time"
)

// Kind says what sort of problem a Problem is, and so which hints, graders and
// tools apply to it.
type Kind string

// Problem kinds.
const (
	KindMath Kind = "math"
	KindCode Kind = "code"
)

// Problem is one item of a dataset, normalised from whatever format it came in.
// Answer is always a string: datasets that store numbers (AIME, AMC) are
// rendered without a trailing ".0" so that "27.0" and "27" compare equal.
type Problem struct {
	// ID is unique within its dataset: the dataset's own id where it has one,
	// else "<dataset>/<index>", index counting the file's non-blank lines
	// from 0 (so GSM8K-style files keep ids when a bad line is fixed).
	ID      string `json:"id"`
	Dataset string `json:"dataset,omitempty"`
	Kind    Kind   `json:"kind"`
	// Question is the text shown to the model (MATH "problem", GSM8K
	// "question", HumanEval "prompt").
	Question string `json:"question"`
	// Answer is the reference final answer; empty when the dataset has none.
	Answer string `json:"answer,omitempty"`
	// Solution is a reference worked solution, where the dataset has one.
	Solution string `json:"solution,omitempty"`
	// Code problems: the function to implement and the tests that check it.
	EntryPoint    string `json:"entry_point,omitempty"`
	Test          string `json:"test,omitempty"`
	CanonicalCode string `json:"canonical_solution,omitempty"`
	// Meta keeps dataset fields that have no place above (level, subject, url).
	Meta map[string]string `json:"meta,omitempty"`
}

// Task is one unit of work: one sample of one problem within a job.
type Task struct {
	ID      string  `json:"task_id"`
	JobID   string  `json:"job_id"`
	Sample  int     `json:"sample"`
	Attempt int     `json:"attempt"`
	Problem Problem `json:"problem"`
}

// StepKind is the kind of one step of a trajectory.
type StepKind string

// Step kinds, in the order they usually appear.
const (
	StepGen    StepKind = "gen"    // text the model generated
	StepHint   StepKind = "hint"   // a hint hintfleet inserted
	StepCode   StepKind = "code"   // the code block of a tool call, as the model wrote it
	StepOutput StepKind = "output" // the ```output block hintfleet appended
)

// Step is one piece of a trajectory's text. The texts of all steps,
// concatenated in order, are exactly Trajectory.Text.
type Step struct {
	Kind StepKind `json:"kind"`
	Text string   `json:"text"`
	// Offset is the byte offset of Text within Trajectory.Text.
	Offset int `json:"offset"`
	// Trigger names what caused a hint ("Wait", "stop", "think_end").
	Trigger string `json:"trigger,omitempty"`
	// Lang is the fence language of a code step ("python").
	Lang string `json:"lang,omitempty"`
	// Tool result details, on output steps.
	ExitCode  *int    `json:"exit_code,omitempty"`
	ErrorKind string  `json:"error_kind,omitempty"`
	Truncated bool    `json:"truncated,omitempty"`
	ToolMS    float64 `json:"tool_ms,omitempty"`
}

// Tokens counts tokens as the engine reported them in usage.
type Tokens struct {
	Prompt     int `json:"prompt"`
	Completion int `json:"completion"`
	// Wasted counts completion tokens generated past a cut and thrown away.
	Wasted int `json:"wasted"`
}

// EngineRef names the engine that produced a trajectory.
type EngineRef struct {
	URL   string `json:"url"`
	Model string `json:"model"`
}

// Timings records where a trajectory's wall time went, in milliseconds.
type Timings struct {
	Start    time.Time `json:"start"`
	TotalMS  float64   `json:"total_ms"`
	EngineMS float64   `json:"engine_ms"`
	ToolMS   float64   `json:"tool_ms"`
	TTFTMS   float64   `json:"ttft_ms,omitempty"`
}

// Finish reasons of a trajectory.
const (
	FinishStop      = "stop"       // the model stopped on its own
	FinishLength    = "length"     // the engine hit max_tokens or the context
	FinishBudget    = "budget"     // hintfleet's token or wall-time budget ran out
	FinishToolLimit = "tool_limit" // stopped after the maximum number of tool calls
	FinishError     = "error"      // an engine or tool error ended it
	// FinishRepetition: the engine's repetition detection ended a
	// degenerate loop (vLLM's finish reason "repetition").
	FinishRepetition = "repetition"
)

// TaskID names one sample of one problem within a job: "<job>/<problem>/<sample>".
// The single-machine runner, the coordinator and the output files all key
// tasks by it, so it lives here, below all of them. problem names the
// problem uniquely among the job's: the single-machine runner, whose run
// may mix datasets that both number their problems from 0 (AMC 2023 and
// GSM8K), passes its Key; a fleet job reads one source, whose ids are
// unique, and passes its ID.
func TaskID(job, problem string, sample int) string {
	return job + "/" + problem + "/" + strconv.Itoa(sample)
}

// ProblemKey names a problem uniquely across datasets: "<dataset>/<id>".
// An id is unique only within its dataset (Problem.ID), so whatever holds
// problems of several datasets at once (a run's task ids, RFT's per-problem
// counts, seed selection) keys them by this. An id that already starts with
// "<dataset>/" (the ids the loaders make for rows without one) is the key
// as it is, so math500's "math500/3" does not become "math500/math500/3";
// an empty dataset (a problem built in code) leaves the id alone.
func ProblemKey(dataset, id string) string {
	if dataset == "" || strings.HasPrefix(id, dataset+"/") {
		return id
	}
	return dataset + "/" + id
}

// Key is p's ProblemKey.
func (p Problem) Key() string { return ProblemKey(p.Dataset, p.ID) }

// ProblemKey is the ProblemKey of t's problem, from its dataset and
// problem_id fields.
func (t *Trajectory) ProblemKey() string { return ProblemKey(t.Dataset, t.ProblemID) }

// Trajectory is the record of one task's run: the contract that trainers and
// curation read, one JSON object per line of trajectories.jsonl.
type Trajectory struct {
	TaskID    string `json:"task_id"`
	JobID     string `json:"job_id"`
	ProblemID string `json:"problem_id"`
	Dataset   string `json:"dataset,omitempty"`
	Sample    int    `json:"sample"`
	// Question is the problem as the user asked it, before the template;
	// SFT export needs it to build chat messages.
	Question     string    `json:"question,omitempty"`
	Prompt       string    `json:"prompt"`
	Text         string    `json:"text"`
	Steps        []Step    `json:"steps"`
	ToolCalls    int       `json:"tool_calls"`
	Hints        int       `json:"hints"`
	Answer       string    `json:"answer"`
	Reference    string    `json:"reference,omitempty"`
	Correct      *bool     `json:"correct"`
	FinishReason string    `json:"finish_reason"`
	Error        string    `json:"error,omitempty"`
	Tokens       Tokens    `json:"tokens"`
	Requests     int       `json:"requests"`
	Engine       EngineRef `json:"engine"`
	Worker       string    `json:"worker,omitempty"`
	Attempt      int       `json:"attempt"`
	Timings      Timings   `json:"timings"`
}
