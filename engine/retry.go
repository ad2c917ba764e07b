package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// send performs method path with retries and returns a 2xx response whose
// body the caller must close. Retries happen only where the engine cannot
// have produced output for us: connection failures before any response, and
// 429/503 replies. A 4xx such as 400/404/422 is final.
//
// arm, when set, is called before each attempt with that attempt's context
// cancel function; the returned context is the one the response body is
// bound to. It lets Stream attach its first-token timer per attempt.
func (c *Client) send(ctx context.Context, method, path string, body []byte, accept string,
	arm func(cancel context.CancelCauseFunc) func(),
) (*http.Response, context.CancelCauseFunc, error) {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithCancelCause(ctx)
		var disarm func()
		if arm != nil {
			disarm = arm(cancel)
		}
		req, err := c.newRequest(actx, method, path, body)
		if err != nil {
			cancel(nil)
			return nil, nil, fmt.Errorf("engine: build request %s: %w", path, err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := c.hc.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if disarm != nil {
				disarm()
			}
			if cause := context.Cause(actx); cause != nil && actx.Err() != nil {
				cancel(nil)
				if ctx.Err() != nil {
					return nil, nil, fmt.Errorf("engine: %s %s: %w", method, path, context.Cause(ctx))
				}
				return nil, nil, fmt.Errorf("engine: %s %s: %w", method, path, cause)
			}
			cancel(nil)
			if !retryableConnErr(err) || attempt >= c.maxAttempts {
				return nil, nil, fmt.Errorf("engine: %s %s (attempt %d): %w", method, path, attempt, err)
			}
			wait = c.backoff(attempt)
			c.log.Warn("engine request failed, retrying", "path", path, "attempt", attempt, "wait", wait, "err", err)
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return resp, cancel, nil
		default:
			if disarm != nil {
				disarm()
			}
			se := statusError(resp)
			cancel(nil)
			if !retryableStatus(resp.StatusCode) || attempt >= c.maxAttempts {
				return nil, nil, fmt.Errorf("engine: %s %s (attempt %d): %w", method, path, attempt, se)
			}
			wait = c.backoff(attempt)
			if se.RetryAfter > 0 {
				wait = min(se.RetryAfter, maxRetryAfter)
			}
			c.log.Warn("engine busy, retrying", "path", path, "attempt", attempt, "status", resp.StatusCode, "wait", wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("engine: %s %s: wait to retry: %w", method, path, err)
		}
	}
}

// backoff returns the wait before retry number attempt (1-based): uniform in
// [0, min(max, base·2^(attempt-1))), the "full jitter" of AWS's backoff
// study, which spreads a fleet's retries best.
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.maxBackoff
	if shift := attempt - 1; shift < 30 {
		if d := c.baseBackoff << shift; d > 0 && d < ceil {
			ceil = d
		}
	}
	return time.Duration(c.randN(int64(ceil)))
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable
}

// retryableConnErr reports whether err means the request never reached a
// working engine: refused or reset connections, or a connection closed before
// any response byte. Timeouts are not retried: the engine may be busy with
// the request.
func retryableConnErr(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && !op.Timeout() {
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
