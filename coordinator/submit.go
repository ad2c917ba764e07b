package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
)

// Submit validates spec, reads its problems and creates the job; the
// dispatcher then publishes its tasks. Any bad field or problem line refuses
// the whole job with an error wrapping ErrInvalidSpec that names the line and
// field, and then nothing is created and no running job is touched. Only
// the leader accepts jobs (ErrNotLeader).
func (c *Coordinator) Submit(ctx context.Context, spec JobSpec) (Job, error) {
	if !c.IsLeader() {
		return Job{}, ErrNotLeader
	}
	if err := spec.Validate(); err != nil {
		return Job{}, err
	}
	waiting, err := c.placeModel(ctx, &spec)
	if err != nil {
		return Job{}, err
	}
	if spec.samples() > c.cfg.MaxTasksPerJob {
		return Job{}, fmt.Errorf("%w: %s: field \"samples\": %d is over the per-job cap of %d tasks", ErrInvalidSpec, specName, spec.samples(), c.cfg.MaxTasksPerJob)
	}
	ps, err := c.loadProblems(ctx, spec)
	if err != nil {
		return Job{}, err
	}
	// Divided, not multiplied: problems × samples may not fit an int.
	if spec.samples() > c.cfg.MaxTasksPerJob/len(ps) {
		return Job{}, fmt.Errorf("%w: %s: field \"samples\": %d problems × %d samples is over the per-job cap of %d tasks",
			ErrInvalidSpec, specName, len(ps), spec.samples(), c.cfg.MaxTasksPerJob)
	}
	c.submitMu.Lock()
	defer c.submitMu.Unlock()
	t := c.currentTerm()
	if t == nil {
		return Job{}, ErrNotLeader
	}
	if err := c.countFenced(t.check()); err != nil { // before the job's folder is touched
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, err)
	}
	if spec.ID == "" {
		spec.ID = newJobID()
	}
	if _, err := getJob(ctx, c.conn.Etcd, spec.ID); err == nil {
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, ErrJobExists)
	} else if !errors.Is(err, ErrJobNotFound) {
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, err)
	}
	spec.ProblemsJSONL = "" // kept in the problems file, not in etcd
	j := &job{rec: Job{
		ID: spec.ID, Spec: spec, State: JobQueued, Problems: len(ps),
		Counts:  Counts{Tasks: len(ps) * spec.samples()},
		Created: now(),
	}}
	j.setProblems(ps)
	dir := c.jobDir(spec.ID)
	// A folder without a registry entry is the leftover of a submit that
	// failed half-way; the registry entry is the commit point.
	if err := os.RemoveAll(dir); err != nil {
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, err)
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, err)
	}
	if err := writeProblems(dir, ps); err != nil {
		_ = os.RemoveAll(dir)
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, err)
	}
	out, err := openStore(dir, c.checker(t))
	if err != nil {
		_ = os.RemoveAll(dir)
		return Job{}, fmt.Errorf("submit job %s: %w", spec.ID, err)
	}
	j.out = out
	j.refresh()
	if err := c.writeJob(ctx, t, j.rec, true); err != nil {
		_ = out.close()
		_ = os.RemoveAll(dir)
		return Job{}, err
	}
	j.dirty = false
	// The copy is taken before the job is published in c.jobs: from then
	// on the dispatcher owns j.rec under j.mu.
	rec := j.rec
	rec.Waiting = waiting
	c.mu.Lock()
	if !c.leading || c.fence != t {
		c.mu.Unlock()
		_ = out.close()
		// The term ended (and maybe a new one began, which loaded its
		// jobs with stores fenced by itself, not by t). The record stays;
		// a leader picks the job up from it.
		return rec, nil
	}
	c.jobs[spec.ID] = j
	c.mu.Unlock()
	c.log.Info("job submitted", "job", spec.ID, "problems", len(ps), "tasks", rec.Counts.Tasks)
	c.poke()
	return rec, nil
}

// Cancel marks the job cancelled and purges its pending tasks from TASKS.
// Workers drop the job's tasks they pull or hold (they watch the registry);
// results still in flight are dropped at intake. Cancelling a finished job
// changes nothing.
func (c *Coordinator) Cancel(ctx context.Context, id string) (Job, error) {
	if !c.IsLeader() {
		return Job{}, ErrNotLeader
	}
	j, live := c.liveJob(id)
	if !live {
		rec, err := getJob(ctx, c.conn.Etcd, id)
		if err != nil {
			return Job{}, err
		}
		return rec, nil // terminal: nothing to cancel
	}
	j.mu.Lock()
	if j.rec.State.Terminal() {
		rec := j.rec
		j.mu.Unlock()
		return rec, nil
	}
	t := c.currentTerm()
	if t == nil {
		j.mu.Unlock()
		return Job{}, ErrNotLeader
	}
	j.rec.State = JobCancelled
	j.refresh()
	rec := j.rec
	j.dirty = false
	j.mu.Unlock()
	if err := c.writeJob(ctx, t, rec, false); err != nil {
		j.mu.Lock()
		j.dirty = true
		j.mu.Unlock()
		return rec, fmt.Errorf("cancel job %s: %w", id, err)
	}
	stream, err := c.js.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		return rec, fmt.Errorf("cancel job %s: %w", id, err)
	}
	for _, subj := range cluster.JobTaskSubjects(id) {
		if err := stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return rec, fmt.Errorf("cancel job %s: purge %s: %w", id, subj, err)
		}
	}
	c.log.Info("job cancelled", "job", id)
	return rec, nil
}

// Get returns a job: live from the leader's memory, else from the registry.
func (c *Coordinator) Get(ctx context.Context, id string) (Job, error) {
	var rec Job
	if j, ok := c.liveJob(id); ok {
		j.mu.Lock()
		rec = j.snapshot()
		j.mu.Unlock()
	} else {
		var err error
		if rec, err = getJob(ctx, c.conn.Etcd, id); err != nil {
			return rec, err
		}
	}
	one := []Job{rec}
	err := c.withRunning(ctx, one)
	return one[0], err
}

// List returns every job in the registry, oldest first, with live counts
// where this replica leads.
func (c *Coordinator) List(ctx context.Context) ([]Job, error) {
	recs, err := listJobs(ctx, c.conn.Etcd)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if j, ok := c.liveJob(recs[i].ID); ok {
			j.mu.Lock()
			recs[i] = j.snapshot()
			j.mu.Unlock()
		}
	}
	return recs, c.withRunning(ctx, recs)
}
