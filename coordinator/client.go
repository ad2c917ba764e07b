package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// APIError is a non-2xx answer of the HTTP API. Leader is set on a 503 from
// a standby.
type APIError struct {
	Status  int
	Message string
	Leader  string
}

func (e *APIError) Error() string {
	if e.Leader != "" {
		return fmt.Sprintf("coordinator: %d %s (leader: %s)", e.Status, e.Message, e.Leader)
	}
	return fmt.Sprintf("coordinator: %d %s", e.Status, e.Message)
}

// Unwrap maps statuses to this package's sentinels, so callers match
// errors.Is(err, ErrInvalidSpec) on either side of HTTP.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return ErrInvalidSpec
	case http.StatusNotFound:
		return ErrJobNotFound
	case http.StatusConflict:
		return ErrJobExists
	case http.StatusUnprocessableEntity:
		return ErrNoWorker
	case http.StatusServiceUnavailable:
		return ErrNotLeader
	case http.StatusUnauthorized:
		return ErrUnauthenticated
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	}
	return nil
}

// Client calls the HTTP API of any replica. A write that reaches a standby
// is retried once at the leader the standby names. The zero HTTP client is
// not used: pass one, or nil for a private default.
//
// For an API with WithAuth, pass WithToken, or an hc whose transport
// presents a client certificate.
type Client struct {
	base  string
	hc    *http.Client
	token string
	from  string
}

// ClientOption tunes NewClient.
type ClientOption func(*Client) error

// WithToken sends token as the bearer credential on every request. It is
// sent to the base URL and to the leader a standby names, and never
// logged. Over plain HTTP it crosses the network in the clear: use https
// (or a loopback address) where that matters.
func WithToken(token string) ClientOption {
	return func(c *Client) error {
		if token == "" || strings.ContainsAny(token, " \t\r\n") {
			return fmt.Errorf("%w: api token: empty or contains white space", ErrInvalidConfig)
		}
		c.token = token
		return nil
	}
}

// WithSource names where the caller found base (cluster.Fleet.From: "--data
// /tmp/fleet", "the default …"); a coordinator that cannot be reached is
// then an error that says so, not only a refused connection.
func WithSource(from string) ClientOption {
	return func(c *Client) error {
		c.from = from
		return nil
	}
}

// NewClient returns a client for base ("http://host:port" or https).
func NewClient(base string, hc *http.Client, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%w: coordinator url %q", ErrInvalidConfig, base)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: coordinator url %s: credentials in the URL; use an API token", ErrInvalidConfig, u.Redacted())
	}
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{base: strings.TrimRight(base, "/"), hc: hc}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// authorize adds the bearer token, if any.
func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// Submit creates a job. Put inline problems in spec.ProblemsJSONL.
func (c *Client) Submit(ctx context.Context, spec JobSpec) (Job, error) {
	body, err := json.Marshal(spec)
	if err != nil {
		return Job{}, fmt.Errorf("submit: %w", err)
	}
	var j Job
	return j, c.do(ctx, http.MethodPost, "/v1/jobs", body, &j)
}

// Get returns one job.
func (c *Client) Get(ctx context.Context, id string) (Job, error) {
	var j Job
	return j, c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), nil, &j)
}

// List returns all jobs.
func (c *Client) List(ctx context.Context) ([]Job, error) {
	var js []Job
	return js, c.do(ctx, http.MethodGet, "/v1/jobs", nil, &js)
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, id string) (Job, error) {
	var j Job
	return j, c.do(ctx, http.MethodDelete, "/v1/jobs/"+url.PathEscape(id), nil, &j)
}

// Trajectories opens the job's trajectories as JSONL; with follow it streams
// until the job ends. The caller closes the reader.
func (c *Client) Trajectories(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	return c.stream(ctx, "/v1/jobs/"+url.PathEscape(id)+"/trajectories", follow)
}

// DeadLetters opens the job's dead letters as JSONL.
func (c *Client) DeadLetters(ctx context.Context, id string) (io.ReadCloser, error) {
	return c.stream(ctx, "/v1/jobs/"+url.PathEscape(id)+"/dead_letters", false)
}

func (c *Client) stream(ctx context.Context, path string, follow bool) (io.ReadCloser, error) {
	if follow {
		path += "?follow=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	c.authorize(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeAPIError(resp)
	}
	return resp.Body, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	base := c.base
	for try := 0; ; try++ {
		err := c.once(ctx, base, method, path, body, out)
		ae, ok := err.(*APIError)
		if try > 0 || !ok || ae.Leader == "" || method == http.MethodGet {
			return err
		}
		base = ae.Leader
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
	}
}

func (c *Client) once(ctx context.Context, base, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.authorize(req)
	resp, err := c.hc.Do(req)
	if err != nil && c.from != "" && base == c.base {
		return fmt.Errorf("%s %s: %w (the coordinator named by %s)", method, path, err, c.from)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeAPIError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func decodeAPIError(resp *http.Response) error {
	var ae apiError
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &ae) != nil || ae.Error == "" {
		ae.Error = strings.TrimSpace(string(b))
	}
	return &APIError{Status: resp.StatusCode, Message: ae.Error, Leader: resp.Header.Get(HeaderLeader)}
}
