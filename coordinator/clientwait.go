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

// Wait polls the job every WaitPoll until it is terminal and returns it,
// calling onUpdate (if not nil) with every state read. A coordinator that
// is briefly unreachable (a failover) is retried until ctx ends; a job
// that does not exist is ErrJobNotFound at once. On ctx's end the error
// wraps its cause and the last failure, and the last job read is returned.
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
		default:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("wait for job %s: %w", id, errors.Join(context.Cause(ctx), lastErr))
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
