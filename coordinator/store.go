package coordinator

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hintfleet/hintfleet/trajectory"
)

// DirMode is the mode of DataDir/jobs and each job's folder: the fleet's
// operators' group may read, nobody else. The files in them are
// trajectory.FileMode (0640).
const DirMode = 0o750

// Output file names inside DataDir/jobs/<id>/.
const (
	TrajectoriesFile = "trajectories.jsonl"
	DeadLettersFile  = "dead_letters.jsonl"
	problemsFile     = "problems.jsonl"
)

// DeadLetter is one line of dead_letters.jsonl: a task that ends without a
// trajectory, and why.
type DeadLetter struct {
	TaskID    string    `json:"task_id"`
	JobID     string    `json:"job_id"`
	ProblemID string    `json:"problem_id,omitempty"`
	Sample    int       `json:"sample"`
	Attempt   int       `json:"attempt,omitempty"`
	Worker    string    `json:"worker,omitempty"`
	Reason    string    `json:"reason"`
	Time      time.Time `json:"time"`
	// Raw is the start of a result message that did not parse.
	Raw string `json:"raw,omitempty"`
}

// store is one job's output: trajectories.jsonl and dead_letters.jsonl, and
// the set of task ids found in either. The files are the truth: a task is
// done when its line is in a file and synced, and a new leader rebuilds the
// set by reading them, so there is no second record that could disagree
// with the output. Not safe for concurrent use; job.mu guards it.
type store struct {
	dir    string
	fence  func() error // the term's check before every append; nil: none
	traj   *trajectory.Writer
	dead   *trajectory.Writer
	done   map[string]struct{}
	nTraj  int
	nDead  int
	tokens int64
	dirty  bool // lines appended since the last sync
}

// openStore opens (repairing a torn tail) the job's output files under dir
// and rebuilds the done set from them. fence is called before every append
// and its error refuses the append (the leader's term check, ErrFenced).
func openStore(dir string, fence func() error) (*store, error) {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return nil, fmt.Errorf("open output store %s: %w", dir, err)
	}
	s := &store{dir: dir, fence: fence, done: map[string]struct{}{}}
	var err error
	if s.traj, err = trajectory.OpenWriter(filepath.Join(dir, TrajectoriesFile)); err != nil {
		return nil, fmt.Errorf("open output store: %w", err)
	}
	if s.dead, err = trajectory.OpenWriter(filepath.Join(dir, DeadLettersFile)); err != nil {
		_ = s.traj.Close()
		return nil, fmt.Errorf("open output store: %w", err)
	}
	if err := s.rebuild(); err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

// doneLine is the part of an output line the rebuild needs.
type doneLine struct {
	TaskID string `json:"task_id"`
	Tokens struct {
		Completion int64 `json:"completion"`
	} `json:"tokens"`
}

func (s *store) rebuild() error {
	for _, f := range []struct {
		name string
		n    *int
	}{{TrajectoriesFile, &s.nTraj}, {DeadLettersFile, &s.nDead}} {
		rd, err := trajectory.OpenReader[doneLine](filepath.Join(s.dir, f.name))
		if err != nil {
			return fmt.Errorf("rebuild done set: %w", err)
		}
		for {
			l, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				_ = rd.Close()
				// A line the writer wrote whole cannot be bad; a bad one
				// means someone else touched the file.
				return fmt.Errorf("rebuild done set: %w", err)
			}
			if _, dup := s.done[l.TaskID]; dup {
				continue // cannot happen through the intake; counted once
			}
			s.done[l.TaskID] = struct{}{}
			*f.n++
			s.tokens += l.Tokens.Completion
		}
		_ = rd.Close()
	}
	return nil
}

func (s *store) isDone(task string) bool {
	_, ok := s.done[task]
	return ok
}

// appendTrajectory writes t unless its task is done; it is durable only
// after sync. It reports whether it wrote.
func (s *store) appendTrajectory(t *trajectory.Trajectory) (bool, error) {
	if s.isDone(t.TaskID) {
		return false, nil
	}
	if err := s.checkFence(); err != nil {
		return false, fmt.Errorf("append trajectory %s: %w", t.TaskID, err)
	}
	if err := s.traj.Append(t); err != nil {
		return false, fmt.Errorf("append trajectory %s: %w", t.TaskID, err)
	}
	s.done[t.TaskID] = struct{}{}
	s.nTraj++
	s.tokens += int64(t.Tokens.Completion)
	s.dirty = true
	return true, nil
}

// appendDeadLetter writes d unless its task is done.
func (s *store) appendDeadLetter(d DeadLetter) (bool, error) {
	if s.isDone(d.TaskID) {
		return false, nil
	}
	if err := s.checkFence(); err != nil {
		return false, fmt.Errorf("append dead letter %s: %w", d.TaskID, err)
	}
	if err := s.dead.Append(d); err != nil {
		return false, fmt.Errorf("append dead letter %s: %w", d.TaskID, err)
	}
	s.done[d.TaskID] = struct{}{}
	s.nDead++
	s.dirty = true
	return true, nil
}

func (s *store) checkFence() error {
	if s.fence == nil {
		return nil
	}
	return s.fence()
}

// sync makes every appended line durable.
func (s *store) sync() error {
	if !s.dirty {
		return nil
	}
	if err := errors.Join(s.traj.Sync(), s.dead.Sync()); err != nil {
		return fmt.Errorf("sync output of %s: %w", s.dir, err)
	}
	s.dirty = false
	return nil
}

func (s *store) close() error {
	return errors.Join(s.traj.Close(), s.dead.Close())
}
