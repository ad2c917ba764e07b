package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Headers set on task and result messages. They duplicate ids held in the
// body so that a message whose body does not parse can still be attributed
// to its job and task, and dead-lettered there instead of dropped.
const (
	HeaderJob     = "Hintfleet-Job"
	HeaderTask    = "Hintfleet-Task"
	HeaderAttempt = "Hintfleet-Attempt"
)

// Task is one attempt of one sample of one problem, as published on TASKS
// with Nats-Msg-Id cluster.TaskMsgID(TaskID, Attempt). It carries everything
// a worker needs, so a worker never reads the job's problems file.
type Task struct {
	// V is the major protocol version the message was written in; Encode
	// sets it. See Version.
	V       int                `json:"v"`
	JobID   string             `json:"job_id"`
	TaskID  string             `json:"task_id"`
	Pool    string             `json:"pool"`
	Sample  int                `json:"sample"`
	Attempt int                `json:"attempt"`
	Problem trajectory.Problem `json:"problem"`
	Hint    HintSpec           `json:"hint"`
}

// Result is what a worker publishes on RESULTS with Nats-Msg-Id
// cluster.ResultMsgID(TaskID). Worker, Lease, ClaimRevision and Attempt say
// which claim produced it, so the intake can tell a fenced-off worker's late
// result; the intake keeps the first result of a task and drops the rest.
//
// Failure, when set, is a permanent failure the worker declares (a task that
// does not parse, a hint config that cannot run): the intake dead-letters the
// task with it instead of writing Trajectory.
type Result struct {
	// V is the major protocol version; Encode sets it. See Version.
	V             int                    `json:"v"`
	JobID         string                 `json:"job_id"`
	TaskID        string                 `json:"task_id"`
	Worker        string                 `json:"worker"`
	Lease         int64                  `json:"lease"`
	ClaimRevision int64                  `json:"claim_revision"`
	Attempt       int                    `json:"attempt"`
	Trajectory    *trajectory.Trajectory `json:"trajectory,omitempty"`
	Failure       string                 `json:"failure,omitempty"`
}

// Validate checks the fields the intake relies on.
func (r Result) Validate() error {
	var errs []error
	if r.JobID == "" {
		errs = append(errs, errors.New(`field "job_id": missing`))
	}
	if r.TaskID == "" {
		errs = append(errs, errors.New(`field "task_id": missing`))
	}
	if r.Trajectory == nil && r.Failure == "" {
		errs = append(errs, errors.New(`field "trajectory": missing (and no failure)`))
	}
	if r.Trajectory != nil && r.Trajectory.TaskID != r.TaskID {
		errs = append(errs, fmt.Errorf(`field "trajectory.task_id": %q, want %q`, r.Trajectory.TaskID, r.TaskID))
	}
	return errors.Join(errs...)
}

// Policy is hint.Policy with JSON names.
type Policy struct {
	Mode          hint.TriggerMode `json:"mode,omitempty"`
	K             int              `json:"k,omitempty"`
	P             float64          `json:"p,omitempty"`
	UntilToolCall bool             `json:"until_tool_call,omitempty"`
	DeferStop     int              `json:"defer_stop,omitempty"`
}

// Duration is a time.Duration that reads and writes as a Go duration string
// ("90s", "2m").
type Duration time.Duration

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"90s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// HintSpec is the serialisable part of hint.Config that a job sets: the
// template by name, the policy, budgets and sampling. Hint and tool
// libraries are the worker's own. The zero value is hint's default.
type HintSpec struct {
	Template     string   `json:"template,omitempty"`
	Triggers     []string `json:"triggers,omitempty"`
	Policy       Policy   `json:"policy,omitzero"`
	Pick         string   `json:"pick,omitempty"`
	MaxHints     int      `json:"max_hints,omitempty"`
	MaxToolCalls int      `json:"max_tool_calls,omitempty"`
	MaxTokens    int      `json:"max_tokens,omitempty"`
	WallTime     Duration `json:"wall_time,omitempty"`
	OutputLimit  int      `json:"output_limit,omitempty"`
	Temperature  float64  `json:"temperature,omitempty"`
	TopP         float64  `json:"top_p,omitempty"`
	// SampleSeed, when set, seeds the engine's sampling; each sample adds its
	// index so the k samples of a problem differ.
	SampleSeed *int64 `json:"sample_seed,omitempty"`
}

// Config builds the hint.Config of one sample through hint.Spec.Config (so
// template and library are names, never files). The sample index seeds
// hint choice, so samples differ and reruns repeat. Errors wrap
// hint.ErrConfig or hint.ErrUnknownTemplate and name the field.
func (h HintSpec) Config(sample int) (hint.Config, error) {
	return h.spec().Config(sample)
}

// spec is h as a hint.Spec. The wire says "no hints" as max_hints -1 with
// no policy, which is what hint.HintsNone makes of a Spec.
func (h HintSpec) spec() hint.Spec {
	return hint.Spec{
		Template: h.Template, Triggers: h.Triggers, Policy: hint.Policy(h.Policy), Pick: hint.PickMode(h.Pick),
		MaxHints: h.MaxHints, MaxToolCalls: h.MaxToolCalls, MaxTokens: h.MaxTokens, WallTime: time.Duration(h.WallTime),
		OutputLimit: h.OutputLimit, Temperature: h.Temperature, TopP: h.TopP, SampleSeed: h.SampleSeed,
	}
}

// NewHintSpec is the job's hint settings for s, checked as a worker will
// check them (hint.Spec.Config: built-in template and library names only),
// so that a job a worker cannot run is refused before it is submitted.
func NewHintSpec(s hint.Spec) (HintSpec, error) {
	if _, err := s.Config(0); err != nil {
		return HintSpec{}, err
	}
	if s.Hints == hint.HintsNone {
		s.Policy, s.MaxHints = hint.Policy{}, -1
	}
	return HintSpec{
		Template: s.Template, Triggers: s.Triggers, Policy: Policy(s.Policy), Pick: string(s.Pick),
		MaxHints: s.MaxHints, MaxToolCalls: s.MaxToolCalls, MaxTokens: s.MaxTokens, WallTime: Duration(s.WallTime),
		OutputLimit: s.OutputLimit, Temperature: s.Temperature, TopP: s.TopP, SampleSeed: s.SampleSeed,
	}, nil
}

// JobState is a job's lifecycle state in the registry.
type JobState string

// Job states. Done, Cancelled and Failed are terminal.
const (
	JobQueued    JobState = "queued"    // accepted, nothing dispatched yet
	JobRunning   JobState = "running"   // tasks dispatched, not all ended
	JobDone      JobState = "done"      // every task ended: written or dead-lettered
	JobCancelled JobState = "cancelled" // cancelled by a user; pending tasks purged
	JobFailed    JobState = "failed"    // the coordinator could not go on (see Job.Error)
)

// Terminal reports whether no more work happens for a job in state s.
func (s JobState) Terminal() bool { return s == JobDone || s == JobCancelled || s == JobFailed }

// JobStateOf reads only the state of a job registry entry, which is what a
// worker needs to drop the tasks of a cancelled job.
func JobStateOf(registryValue []byte) (JobState, error) {
	var v struct {
		State JobState `json:"state"`
	}
	if err := json.Unmarshal(registryValue, &v); err != nil {
		return "", fmt.Errorf("decode job state: %w", err)
	}
	return v.State, nil
}
