package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// WaitPoll is how often Wait reads a job's progress.
const WaitPoll = 500 * time.Millisecond

// ErrStoppedWaiting: Wait's context ended before the job did. Stopping the
// wait stops nothing in the fleet.
var ErrStoppedWaiting = errors.New("stopped waiting")

// Wait polls the job every WaitPoll until it is terminal and returns it,
// calling onUpdate (if not nil) with every state read. A coordinator that
// is briefly unreachable (a failover) is retried until ctx ends; a job
// that does not exist is ErrJobNotFound at once. On ctx's end (Ctrl-C)
// the error is ErrStoppedWaiting, saying that the job goes on and how to
// follow or cancel it, with the last failure if any, and the last job read
// is returned.
func (c *Client) Wait(ctx context.Context, id string, onUpdate func(Job)) (Job, error) {
	t := time.NewTicker(WaitPoll)
	defer t.Stop()
	var (
		last    Job
		lastErr error
	)
	for {
		j, err := c.Get(ctx, id)
		switch {
		case err == nil:
			last, lastErr = j, nil
			if onUpdate != nil {
				onUpdate(j)
			}
			if j.State.Terminal() {
				return j, nil
			}
		case errors.Is(err, ErrJobNotFound):
			return last, err
		case ctx.Err() == nil: // a failure of the ctx's own end says nothing
			lastErr = err
		}
		select {
		case <-ctx.Done():
			err := fmt.Errorf("%w for job %s, which goes on in the fleet (follow it: hintfleet status %s; stop it: hintfleet cancel %s)",
				ErrStoppedWaiting, id, id, id)
			var why []error // a plain cancel (Ctrl-C) needs no more words
			if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
				why = append(why, cause)
			}
			if lastErr != nil {
				why = append(why, lastErr)
			}
			if len(why) > 0 {
				err = fmt.Errorf("%w: %w", err, errors.Join(why...))
			}
			return last, err
		case <-t.C:
		}
	}
}

// Download copies the job's trajectories to path, fsync'd, through a temp
// file renamed into place, so path never holds half a download.
func (c *Client) Download(ctx context.Context, id, path string) error {
	rc, err := c.Trajectories(ctx, id, false)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("download trajectories: %w", err)
	}
	_, err = io.Copy(f, rc)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("download trajectories: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("download trajectories: %w", err)
	}
	return nil
}

// Health reads the replica's /healthz: {"ok": true, "leader": bool}.
func (c *Client) Health(ctx context.Context) (map[string]any, error) {
	var m map[string]any
	if err := c.once(ctx, c.base, http.MethodGet, "/healthz", nil, &m); err != nil {
		return nil, fmt.Errorf("healthz: %w", err)
	}
	return m, nil
}

// Follow waits for job id to end (Wait, with onUpdate: a ProgressBar's or
// WaitNotes' Update), then downloads its trajectories to out when out is
// set, and returns the ended job, whatever its state.
func (c *Client) Follow(ctx context.Context, id string, onUpdate func(Job), out string) (Job, error) {
	j, err := c.Wait(ctx, id, onUpdate)
	if err != nil || out == "" {
		return j, err
	}
	return j, c.Download(ctx, id, out)
}

// FollowOn follows the submitted job j to its end (Follow, downloading to
// out when set) while showing it on progress, a terminal's stderr: with
// headline first its size (problems × samples = tasks), then a bar when
// bar, else a note each time the job waits and why, so that a quiet or
// piped follower still learns why nothing moves.
func (c *Client) FollowOn(ctx context.Context, j Job, samples int, progress io.Writer, headline, bar bool, out string) (Job, error) {
	onUpdate := NewWaitNotes(progress).Update
	if headline {
		fmt.Fprintf(progress, "job %s: %d problems × %d samples = %d tasks\n", j.ID, j.Problems, max(samples, 1), j.Counts.Tasks)
	}
	if bar {
		onUpdate = NewProgressBar(progress).Update
	}
	return c.Follow(ctx, j.ID, onUpdate, out)
}

// EndErr is nil for a job that ended done, else the error that says how
// it ended: a follower exits non-zero unless the job is done.
func (j Job) EndErr() error {
	if j.State == JobDone {
		return nil
	}
	return fmt.Errorf("job %s ended %s %s", j.ID, j.State, j.Error)
}
