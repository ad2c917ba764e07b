package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/trajectory"
)

// ReadProblemsFile checks the problems of path here, so that a bad line
// is reported as PATH:LINE: field … rather than as a line of the upload,
// and carries them inline.
func (s *JobSpec) ReadProblemsFile(path string) error {
	if _, err := trajectory.LoadFile(path); err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read problems: %w", err)
	}
	s.ProblemsJSONL = string(b)
	return nil
}

// Complete fills what `hintfleet submit` leaves to the fleet it found and
// to its FILE argument, then validates the spec: the model of the fleet's
// endpoints.json when the spec names none (else the coordinator picks its
// workers' one model), and the problems of each of files (none, or one)
// checked here and carried inline (ReadProblemsFile).
func (s *JobSpec) Complete(found cluster.Fleet, files ...string) error {
	if s.Model == "" {
		s.Model = found.Endpoints.Model
	}
	for _, f := range files {
		if err := s.ReadProblemsFile(f); err != nil {
			return err
		}
	}
	return s.Validate()
}

// WriteState prints a job as "job ID STATE" on one line: what `cancel`
// says of the job it cancelled.
func WriteState(w io.Writer, j Job) error {
	_, err := fmt.Fprintf(w, "job %s %s\n", j.ID, j.State)
	return err
}

// WriteEnded prints an ended job for people: its counts and, with dataDir
// (the fleet's --data), where its trajectories and dead letters are.
func WriteEnded(w io.Writer, j Job, dataDir string) error {
	fmt.Fprintf(w, "job %s %s: %d tasks, %d written, %d dead-lettered, %d queued, %d running, %d completion tokens\n",
		j.ID, j.State, j.Counts.Tasks, j.Counts.Done, j.Counts.DeadLettered, j.Counts.Queued, j.Counts.Running, j.Counts.Tokens)
	if dataDir == "" {
		return nil
	}
	dir, _ := filepath.Abs(filepath.Join(dataDir, "jobs", j.ID))
	fmt.Fprintf(w, "trajectories: %s\n", filepath.Join(dir, TrajectoriesFile))
	_, err := fmt.Fprintf(w, "dead letters: %s\n", filepath.Join(dir, DeadLettersFile))
	return err
}

// WriteFollowed prints a job followed to its end for people: WriteEnded,
// then the file it was downloaded to when out is set.
func WriteFollowed(w io.Writer, j Job, dataDir, out string) error {
	if err := WriteEnded(w, j, dataDir); err != nil || out == "" {
		return err
	}
	_, err := fmt.Fprintf(w, "downloaded: %s\n", out)
	return err
}

// WriteStatus prints the coordinator at api (its health, or herr when it
// could not be read) and its jobs, for people.
func WriteStatus(w io.Writer, api string, health map[string]any, herr error, jobs []Job) error {
	if herr != nil {
		fmt.Fprintf(w, "coordinator %s: %v\n", api, herr)
	} else {
		fmt.Fprintf(w, "coordinator %s: ok, leader here: %v\n", api, health["leader"])
	}
	return WriteJobs(w, jobs)
}

// Status is the coordinator as `hintfleet status` shows it without a job:
// where it is, its health (HealthErr when that could not be read) and
// every job.
type Status struct {
	API       string         `json:"api"`
	Health    map[string]any `json:"health"`
	HealthErr error          `json:"-"`
	Jobs      []Job          `json:"jobs"`
}

// Status reads the health and the jobs of the coordinator at api (the
// client's). A health that cannot be read is kept in HealthErr, since the
// jobs still say much; a job list that cannot be read is the error,
// joined with it.
func (c *Client) Status(ctx context.Context, api string) (*Status, error) {
	s := &Status{API: api}
	s.Health, s.HealthErr = c.Health(ctx)
	jobs, err := c.List(ctx)
	if err != nil {
		return nil, errors.Join(s.HealthErr, err)
	}
	s.Jobs = jobs
	return s, nil
}

// WriteText prints the status for people (WriteStatus).
func (s *Status) WriteText(w io.Writer) error {
	return WriteStatus(w, s.API, s.Health, s.HealthErr, s.Jobs)
}
