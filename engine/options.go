package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hintfleet/hintfleet/redact"
)

// Defaults for the options below.
const (
	// DefaultMaxAttempts is how many times a request is sent at most,
	// counting the first.
	DefaultMaxAttempts = 4
	// DefaultBaseBackoff is the first retry's backoff ceiling; it doubles per
	// attempt up to DefaultMaxBackoff, and the wait is drawn uniformly below
	// it (full jitter) so that a fleet of workers does not retry in step.
	DefaultBaseBackoff = 250 * time.Millisecond
	// DefaultMaxBackoff caps the backoff ceiling.
	DefaultMaxBackoff = 8 * time.Second
	// maxRetryAfter caps a server's Retry-After so that a misconfigured
	// proxy cannot park a worker for hours; ctx still bounds every wait.
	maxRetryAfter = 5 * time.Minute
)

// Option configures a Client. An invalid option makes New fail.
type Option func(*Client) error

// WithHTTPClient sets the HTTP client. The default is a dedicated client with
// its own transport (never http.DefaultClient) and no overall timeout, since
// a generation can stream for many minutes; bound calls with ctx instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		c.hc = hc
		return nil
	}
}

// WithModel sets the model sent when a request leaves Model empty. vLLM
// rejects a name it does not serve, so set it to an ID from Models.
func WithModel(model string) Option {
	return func(c *Client) error {
		if model == "" {
			return errors.New("WithModel: empty model")
		}
		c.model = model
		return nil
	}
}

// WithAPIKey sets the bearer token (vLLM --api-key). It is kept as a
// redact.Secret so it never reaches a log.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		if key == "" {
			return errors.New("WithAPIKey: empty key")
		}
		c.apiKey = redact.Secret(key)
		return nil
	}
}

// WithRetry sets the retry policy: at most maxAttempts sends (1 disables
// retries), waiting a uniform random time below base·2^n capped at max.
func WithRetry(maxAttempts int, base, max time.Duration) Option {
	return func(c *Client) error {
		if maxAttempts < 1 {
			return fmt.Errorf("WithRetry: max attempts %d < 1", maxAttempts)
		}
		if base <= 0 || max < base {
			return fmt.Errorf("WithRetry: want 0 < base (%v) <= max (%v)", base, max)
		}
		c.maxAttempts, c.baseBackoff, c.maxBackoff = maxAttempts, base, max
		return nil
	}
}

// WithFirstTokenTimeout bounds the time from sending a streamed request to
// its first event (queueing plus prefill). Zero, the default, disables it.
// Expiry yields ErrFirstTokenTimeout and closes the connection, so the
// engine drops the request.
func WithFirstTokenTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("WithFirstTokenTimeout: negative %v", d)
		}
		c.firstTokenTimeout = d
		return nil
	}
}

// WithIdleTimeout bounds the silence between events once the first has
// arrived. Only time spent waiting on the engine counts, not time the caller
// spends between Next calls. Zero, the default, disables it.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("WithIdleTimeout: negative %v", d)
		}
		c.idleTimeout = d
		return nil
	}
}

// WithLogger sets the logger for retries and anomalies. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}
