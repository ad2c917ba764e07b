package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/redact"
)

const (
	// maxErrorBody bounds how much of an error reply is read and kept.
	maxErrorBody = 64 << 10
	// maxJSONBody bounds a non-streamed JSON reply (completion, model list).
	maxJSONBody = 64 << 20
	// maxIdleConnsPerHost lets a worker keep many concurrent streams to its
	// engine on reused connections.
	maxIdleConnsPerHost = 256
)

// Client talks to one engine. It is safe for concurrent use; every call is
// independent and bounded by its ctx.
type Client struct {
	base   *url.URL
	hc     *http.Client
	model  string
	apiKey redact.Secret
	// basicUser and basicPass come from credentials in the base URL
	// (http://user:pass@host), taken out of it so that BaseURL, errors,
	// logs, labels and registrations never carry them; requests send them
	// as HTTP basic auth when no API key is set.
	basicUser string
	basicPass redact.Secret
	hasBasic  bool
	log       *slog.Logger
	// dialect is WithDialect's; discovered into infos otherwise.
	dialect Dialect
	infos   infoCache

	maxAttempts             int
	baseBackoff, maxBackoff time.Duration
	firstTokenTimeout       time.Duration
	idleTimeout             time.Duration

	// sleep waits d or until ctx ends; tests replace it to run retries
	// without waiting.
	sleep func(ctx context.Context, d time.Duration) error
	// randN draws uniformly from [0, n); tests replace it for determinism.
	randN func(n int64) int64
}

// New returns a client for the engine at baseURL, such as
// "http://127.0.0.1:8000". A trailing "/v1" is accepted and dropped, since
// /health and /metrics live at the root.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("engine: parse base url %s: not a URL", RedactURL(baseURL))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("engine: base url %q: want http(s)://host[:port]", RedactURL(baseURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/v1")
	var user string
	var pass redact.Secret
	hasBasic := u.User != nil
	if hasBasic {
		user = u.User.Username()
		p, _ := u.User.Password()
		pass = redact.Secret(p)
		u.User = nil
	}
	c := &Client{
		basicUser:   user,
		basicPass:   pass,
		hasBasic:    hasBasic,
		base:        u,
		log:         slog.New(slog.DiscardHandler),
		maxAttempts: DefaultMaxAttempts,
		baseBackoff: DefaultBaseBackoff,
		maxBackoff:  DefaultMaxBackoff,
		sleep:       sleepCtx,
		randN:       rand.Int64N,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = maxIdleConnsPerHost
		c.hc = &http.Client{Transport: tr}
	}
	return c, nil
}

// BaseURL returns the engine's root URL, without the credentials a URL
// given to New may have carried.
func (c *Client) BaseURL() string { return c.base.String() }

// Model returns the default model set with WithModel.
func (c *Client) Model() string { return c.model }

func (c *Client) endpoint(path string) string {
	return c.base.String() + path
}

// newRequest builds a request with the auth header and, for a body, the JSON
// content type. The body is rebuilt from bytes on every attempt.
func (c *Client) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	switch {
	case c.apiKey != "":
		req.Header.Set("Authorization", "Bearer "+c.apiKey.Reveal())
	case c.hasBasic:
		req.SetBasicAuth(c.basicUser, c.basicPass.Reveal())
	}
	return req, nil
}

// get fetches path (with retries) and returns the body of a 2xx reply; other statuses
// become a *StatusError.
func (c *Client) get(ctx context.Context, path, accept string) ([]byte, error) {
	resp, _, err := c.send(ctx, http.MethodGet, path, nil, accept, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// readLimited reads r up to limit bytes; more is an error rather than a
// silent truncation.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("reply over %d bytes", limit)
	}
	return b, nil
}

// statusError reads and closes a failed reply's body.
func statusError(resp *http.Response) *StatusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	se := decodeStatusError(resp.StatusCode, body)
	se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return se
}

// RedactURL returns s with any password replaced by "xxxxx" (url.Redacted),
// for logs and errors that must name a URL a user gave; a string that does
// not parse is shown only by its length, since it may be a secret typed in
// the wrong place.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("<unparsable url, %d bytes>", len(s))
	}
	return u.Redacted()
}
