package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/scheduler"
	"github.com/hintfleet/hintfleet/trajectory"
)

// JobState is a job's lifecycle state; see the protocol.Job* constants.
type JobState = protocol.JobState

// Job states, re-exported for callers of this package.
const (
	JobQueued    = protocol.JobQueued
	JobRunning   = protocol.JobRunning
	JobDone      = protocol.JobDone
	JobCancelled = protocol.JobCancelled
	JobFailed    = protocol.JobFailed
)

// Counts is a job's progress. Done + DeadLettered == Tasks when it is done;
// while it runs, Queued + Running + Done + DeadLettered == Tasks.
type Counts struct {
	Tasks int `json:"tasks"`
	// Queued: waiting for a worker (in the coordinator or on the TASKS
	// stream). Running: a worker holds a claim on them now. Both are
	// counted when the job is read (Coordinator.Get, List).
	Queued  int `json:"queued"`
	Running int `json:"running"`
	// Done is the trajectories written.
	Done         int `json:"done"`
	DeadLettered int `json:"dead_lettered"`
	// Dispatched is the tasks published so far, InFlight those of them not
	// finished: queued on the stream or running. The scheduler's figures;
	// people read Queued and Running.
	Dispatched int   `json:"dispatched"`
	InFlight   int   `json:"in_flight"`
	Tokens     int64 `json:"tokens"` // completion tokens of written trajectories
	// TokensPerSec is the completion tokens written per second over the
	// last minute, as the leader measured them.
	TokensPerSec float64 `json:"tokens_per_s"`
}

// Job is a job's registry entry, the value of cluster.JobKey(ID) in etcd and
// the body of GET /v1/jobs/{id}. The spec is kept without inline problems
// (they are in the job's problems file), so entries stay small.
type Job struct {
	ID       string    `json:"id"`
	Spec     JobSpec   `json:"spec"`
	State    JobState  `json:"state"`
	Problems int       `json:"problems"`
	Counts   Counts    `json:"counts"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Error    string    `json:"error,omitempty"`
	// Waiting says why queued tasks do not move (no live worker serves the
	// model), when it is so; counted when the job is read.
	Waiting string `json:"waiting,omitempty"`
}

// job is the leader's live state of one job. mu guards everything below it;
// the dispatcher, the intake, the planner and the API take it in turn.
type job struct {
	mu       sync.Mutex
	rec      Job
	problems []trajectory.Problem
	byID     map[string]int // problem id → index in problems
	out      *store         // nil on a standby's copy and after the term
	dirty    bool           // rec changed since it was last written to etcd
	rate     tokenRate      // of Counts.Tokens, for Counts.TokensPerSec
}

func newJobID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "job-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// taskAt names task i of the job: problem i / k, sample i % k, so the k
// samples of a problem are dispatched together and meet the same prefix
// cache when one worker takes them.
func (j *job) taskAt(i int) (id string, p trajectory.Problem, sample int) {
	k := j.rec.Spec.samples()
	p = j.problems[i/k]
	sample = i % k
	return trajectory.TaskID(j.rec.ID, p.ID, sample), p, sample
}

// setProblems installs the job's problems and their index; callers hold mu
// or own j alone.
func (j *job) setProblems(ps []trajectory.Problem) {
	j.problems = ps
	j.byID = make(map[string]int, len(ps))
	for i, p := range ps {
		j.byID[p.ID] = i
	}
}

// index is the task index of task id, the inverse of taskAt. Problem ids
// may hold '/', so the sample is cut from the right.
func (j *job) index(task string) (int, bool) {
	rest, ok := strings.CutPrefix(task, j.rec.ID+"/")
	if !ok {
		return 0, false
	}
	cut := strings.LastIndexByte(rest, '/')
	if cut < 0 {
		return 0, false
	}
	sample, err := strconv.Atoi(rest[cut+1:])
	pi, found := j.byID[rest[:cut]]
	k := j.rec.Spec.samples()
	if err != nil || !found || sample < 0 || sample >= k {
		return 0, false
	}
	return pi*k + sample, true
}

// task builds the message of one attempt of task i.
func (j *job) task(i, attempt int) protocol.Task {
	id, p, sample := j.taskAt(i)
	return protocol.Task{
		JobID: j.rec.ID, TaskID: id, Pool: j.pool(), Sample: sample,
		Attempt: attempt, Problem: p, Hint: j.rec.Spec.Hint,
	}
}

func (j *job) pool() string { return scheduler.PoolFor(j.rec.Spec.Model) }

// refresh recomputes the counts from the store; callers hold mu.
func (j *job) refresh() {
	c := &j.rec.Counts
	if j.out != nil {
		c.Done, c.DeadLettered, c.Tokens = j.out.nTraj, j.out.nDead, j.out.tokens
	}
	c.InFlight = max(c.Dispatched-c.Done-c.DeadLettered, 0)
	if j.rec.State.Terminal() {
		c.InFlight = 0
	}
	c.TokensPerSec = j.rate.observe(time.Now(), c.Tokens)
	j.rec.Updated = time.Now().UTC()
	j.dirty = true
}

// snapshot returns a copy of the record with the tokens/s of now (a
// stalled job's rate falls between results); callers hold mu.
func (j *job) snapshot() Job {
	r := j.rec
	if !r.State.Terminal() {
		r.Counts.TokensPerSec = j.rate.observe(time.Now(), r.Counts.Tokens)
	}
	return r
}

// putJob writes rec to etcd in a transaction fenced by the leader's term t
// (ErrFenced once the term is over; nil t is unfenced, for tests). create
// makes it fail with ErrJobExists when the key is there already.
func putJob(ctx context.Context, cli *clientv3.Client, t *term, rec Job, create bool) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("write job %s: %w", rec.ID, err)
	}
	key := cluster.JobKey(rec.ID)
	if !create {
		ops := []clientv3.Op{clientv3.OpPut(key, string(b))}
		if rec.State.Terminal() {
			// The job is over: its tasks' done markers and attempt counts
			// fence nothing any more (a late copy's result is dropped by
			// the intake), and keeping them would grow etcd by one key per
			// task ever run. Rewriting a terminal record deletes empty
			// ranges, so a new leader that finishes the job again is fine.
			// Its claims go too: a task that ends after this (a cancelled
			// job's tasks run on until the workers see the record) then
			// fails its release's claim compare and writes no done marker
			// behind the deletion. The requeuer sees the claims end and
			// plans nothing for an ended job (jobLedger).
			ops = append(ops,
				clientv3.OpDelete(cluster.JobDonePrefix(rec.ID), clientv3.WithPrefix()),
				clientv3.OpDelete(cluster.JobAttemptsPrefix(rec.ID), clientv3.WithPrefix()),
				clientv3.OpDelete(cluster.JobClaimsPrefix(rec.ID), clientv3.WithPrefix()))
		}
		if _, err := fencedTxn(ctx, cli, t, nil, ops...); err != nil {
			return fmt.Errorf("write job %s: %w", rec.ID, err)
		}
		return nil
	}
	ok, err := fencedTxn(ctx, cli, t, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)}, clientv3.OpPut(key, string(b)))
	if err != nil {
		return fmt.Errorf("create job %s: %w", rec.ID, err)
	}
	if !ok {
		return fmt.Errorf("create job %s: %w", rec.ID, ErrJobExists)
	}
	return nil
}

// writeJob is putJob counted: hintfleet_registry_writes_total counts the
// records this replica committed, so that a test (or an operator) can tell
// which replica wrote the registry.
func (c *Coordinator) writeJob(ctx context.Context, t *term, rec Job, create bool) error {
	err := putJob(ctx, c.conn.Etcd, t, rec, create)
	switch {
	case err == nil:
		c.metrics.registryWrites.Inc()
	case isFenced(err):
		c.metrics.fenced.Inc()
	}
	return err
}

// getJob reads one registry entry.
func getJob(ctx context.Context, cli *clientv3.Client, id string) (Job, error) {
	resp, err := cli.Get(ctx, cluster.JobKey(id))
	if err != nil {
		return Job{}, fmt.Errorf("read job %s: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return Job{}, fmt.Errorf("read job %s: %w", id, ErrJobNotFound)
	}
	var rec Job
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return Job{}, fmt.Errorf("decode job %s: %w", id, err)
	}
	return rec, nil
}

// listJobs reads every registry entry, oldest first.
func listJobs(ctx context.Context, cli *clientv3.Client) ([]Job, error) {
	resp, err := cli.Get(ctx, cluster.JobsPrefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]Job, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var rec Job
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return nil, fmt.Errorf("decode job %s: %w", kv.Key, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// writeProblems saves the job's normalised problems, synced, so a new leader
// dispatches and redelivers from the same list.
func writeProblems(dir string, ps []trajectory.Problem) error {
	w, err := trajectory.OpenWriter(filepath.Join(dir, problemsFile))
	if err != nil {
		return fmt.Errorf("write problems: %w", err)
	}
	for i := range ps {
		if err := w.Append(&ps[i]); err != nil {
			_ = w.Close()
			return fmt.Errorf("write problems: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write problems: %w", err)
	}
	return nil
}

func readProblems(dir string) ([]trajectory.Problem, error) {
	rd, err := trajectory.OpenReader[trajectory.Problem](filepath.Join(dir, problemsFile))
	if err != nil {
		return nil, fmt.Errorf("read problems: %w", err)
	}
	defer rd.Close()
	var ps []trajectory.Problem
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read problems: %w", err)
		}
		ps = append(ps, p)
	}
}
