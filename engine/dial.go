package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Stream timeouts Dial sets. Generous, because a queued request on a
// loaded engine waits behind whole batches and prefill of a long prompt is
// slow, but finite, so that a hung engine does not hold a task forever.
const (
	// DialFirstTokenTimeout bounds queueing plus prefill (WithFirstTokenTimeout).
	DialFirstTokenTimeout = 5 * time.Minute
	// DialIdleTimeout bounds the silence between events (WithIdleTimeout).
	DialIdleTimeout = 2 * time.Minute
)

// APIKeyEnv names the environment variable the CLI reads the engine API
// key from when no flag gives it; the key never appears in --help.
const APIKeyEnv = "HINTFLEET_ENGINE_API_KEY"

// KeyOptions are the client options of an API key as a command line gives
// it: key, else getenv(APIKeyEnv) (read here, not as a flag's default, so
// that --help never prints it); none when both are empty. getenv nil
// reads the process's environment.
func KeyOptions(key string, getenv func(string) string) []Option {
	if getenv == nil {
		getenv = os.Getenv
	}
	if key == "" {
		key = getenv(APIKeyEnv)
	}
	if key == "" {
		return nil
	}
	return []Option{WithAPIKey(key)}
}

// ErrNoModel: no model was named and the engine lists none.
var ErrNoModel = errors.New("engine: no model given and the engine lists none")

// Dial returns a client for the engine at url, with the stream timeouts
// above, that sends model. With model empty it asks the engine's /v1/models
// and takes the first, as most servers serve one (ErrNoModel if it lists
// none). opts apply after the timeouts, so they may change them. Errors
// name the url.
func Dial(ctx context.Context, url, model string, opts ...Option) (*Client, error) {
	shown := RedactURL(url)
	opts = append([]Option{WithFirstTokenTimeout(DialFirstTokenTimeout), WithIdleTimeout(DialIdleTimeout)}, opts...)
	if model == "" {
		c, err := New(url, opts...)
		if err != nil {
			return nil, fmt.Errorf("dial engine %s: %w", shown, err)
		}
		ms, err := c.Models(ctx)
		if err != nil {
			return nil, fmt.Errorf("dial engine %s: no model given and listing models failed: %w", shown, err)
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("dial engine %s: %w", shown, ErrNoModel)
		}
		model = ms[0].ID
	}
	c, err := New(url, append(opts, WithModel(model))...)
	if err != nil {
		return nil, fmt.Errorf("dial engine %s: %w", shown, err)
	}
	return c, nil
}

// ErrModelMismatch: engines dialled together serve different models.
var ErrModelMismatch = errors.New("engine: engines serve different models")

// DialAll dials every url as Dial does and checks that they serve one
// model (the one given, or the first engine's), as the engines beside one
// worker must: a worker pulls the tasks of one model's pool.
func DialAll(ctx context.Context, urls []string, model string, opts ...Option) ([]*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("dial engines: no engine URL")
	}
	var cs []*Client
	for _, u := range urls {
		c, err := Dial(ctx, u, model, opts...)
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 && c.Model() != cs[0].Model() {
			return nil, fmt.Errorf("dial engine %s: %w: it serves %q, %s serves %q (name one with a model)",
				c.BaseURL(), ErrModelMismatch, c.Model(), cs[0].BaseURL(), cs[0].Model())
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// RedactURLs is urls with passwords masked (RedactURL), for logs.
func RedactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = RedactURL(u)
	}
	return out
}
