package coordinator

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hintfleet/hintfleet/internal/serve"
)

// HeaderLeader names the leader's address on a 503 from a standby.
const HeaderLeader = "X-Hintfleet-Leader"

// maxHeaderBytes caps a request's headers.
const maxHeaderBytes = 64 << 10

// HTTPTimeouts bound how long a client may hold the API's resources. A
// zero field keeps its default.
type HTTPTimeouts struct {
	// ReadHeader: a request's headers (default 10 s).
	ReadHeader time.Duration
	// Read: a whole request, body included (default 2 min: 64 MiB at
	// about 0.5 MiB/s).
	Read time.Duration
	// Write: a non-streaming answer (default 1 min). Following a job's
	// trajectories has no write deadline.
	Write time.Duration
	// Idle: a keep-alive connection between requests (default 2 min).
	Idle time.Duration
}

// DefaultHTTPTimeouts are the API server's timeouts against slow clients.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 10 * time.Second, Read: 2 * time.Minute, Write: time.Minute, Idle: 2 * time.Minute}

func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	d := DefaultHTTPTimeouts
	for _, f := range []struct{ v, dst *time.Duration }{{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read}, {&t.Write, &d.Write}, {&t.Idle, &d.Idle}} {
		if *f.v > 0 {
			*f.dst = *f.v
		}
	}
	return d
}

// followPoll is how often a following trajectory stream looks for new lines.
const followPoll = 200 * time.Millisecond

// apiError is the JSON body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

// Handler serves the HTTP API on any replica; writes on a standby answer 503
// with HeaderLeader. Routes:
//
//	POST   /v1/jobs                        submit a JobSpec (JSON)
//	GET    /v1/jobs                        list jobs
//	GET    /v1/jobs/{id}                   one job with its counts
//	DELETE /v1/jobs/{id}                   cancel
//	GET    /v1/jobs/{id}/trajectories      the JSONL output; ?follow=true streams until the job ends
//	GET    /v1/jobs/{id}/dead_letters      the dead-letter JSONL
//	GET    /v1/workers                     live workers: registration, health, GPUs, claims
//	GET    /metrics, /healthz
//
// With WithAuth, routes need a role: read for the GETs of jobs,
// trajectories and dead letters (and /metrics unless Auth.MetricsOpen),
// submit for POST /v1/jobs, admin for DELETE and /v1/workers. /healthz is
// always open and says only whether the replica is up and leads.
func (c *Coordinator) Handler() http.Handler {
	mux := http.NewServeMux()
	a := c.auth
	bounded := c.bounded
	mux.HandleFunc("POST /v1/jobs", a.require(RoleSubmit, bounded(c.handleSubmit)))
	mux.HandleFunc("GET /v1/jobs", a.require(RoleRead, bounded(c.handleList)))
	mux.HandleFunc("GET /v1/jobs/{id}", a.require(RoleRead, bounded(c.handleGet)))
	mux.HandleFunc("DELETE /v1/jobs/{id}", a.require(RoleAdmin, bounded(c.handleCancel)))
	mux.HandleFunc("GET /v1/jobs/{id}/trajectories", a.require(RoleRead, c.handleFile(TrajectoriesFile)))
	mux.HandleFunc("GET /v1/jobs/{id}/dead_letters", a.require(RoleRead, c.handleFile(DeadLettersFile)))
	mux.HandleFunc("GET /v1/workers", a.require(RoleAdmin, bounded(c.handleWorkers)))
	metrics := promhttp.HandlerFor(c.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP
	if a != nil && !a.metrics {
		metrics = a.require(RoleRead, metrics)
	}
	mux.HandleFunc("GET /metrics", bounded(metrics))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "leader": c.IsLeader()})
	})
	return mux
}

// bounded gives a non-streaming route a write deadline; the server itself
// has none, so that following a job's trajectories can last as long as the
// job.
func (c *Coordinator) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.timeouts.withDefaults().Write))
		h(w, r)
	}
}

// Serve serves Handler on ln (over TLS with WithTLS) until ctx ends, then
// shuts down, waiting up to serve.DefaultGrace for requests in flight;
// long-lived requests (waits, streams) end with ctx. The server has the
// HTTPTimeouts against slow clients.
func (c *Coordinator) Serve(ctx context.Context, ln net.Listener) error {
	if c.tls != nil {
		cfg := c.tls.Clone()
		if cfg.MinVersion < tls.VersionTLS12 {
			cfg.MinVersion = tls.VersionTLS12
		}
		ln = tls.NewListener(ln, cfg)
	}
	t := c.timeouts.withDefaults()
	if err := serve.HTTP(ctx, ln, c.Handler(), serve.WithLogger(c.log),
		serve.WithTimeouts(serve.Timeouts{ReadHeader: t.ReadHeader, Read: t.Read, Idle: t.Idle, MaxHeaderBytes: maxHeaderBytes})); err != nil {
		return fmt.Errorf("coordinator api: %w", err)
	}
	return nil
}

func (c *Coordinator) handleSubmit(w http.ResponseWriter, r *http.Request) {
	if !c.IsLeader() {
		c.notLeader(w, r)
		return
	}
	if r.ContentLength > c.cfg.MaxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{fmt.Sprintf("%v: body of %d bytes; the cap is %d", ErrTooLarge, r.ContentLength, c.cfg.MaxBodyBytes)})
		return
	}
	spec, err := DecodeSpecFrom(http.MaxBytesReader(w, r.Body, c.cfg.MaxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{fmt.Sprintf("%v: body over the cap of %d bytes", ErrTooLarge, mbe.Limit)})
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		writeJSON(w, http.StatusRequestTimeout, apiError{"request body: not read within the server's read timeout"})
		return
	}
	if err == nil {
		var j Job
		j, err = c.Submit(r.Context(), spec)
		if err == nil {
			writeJSON(w, http.StatusCreated, j)
			return
		}
	}
	c.writeErr(w, r, err)
}

func (c *Coordinator) handleList(w http.ResponseWriter, r *http.Request) {
	jobs, err := c.List(r.Context())
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listItems(jobs))
}

func (c *Coordinator) handleGet(w http.ResponseWriter, r *http.Request) {
	j, err := c.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (c *Coordinator) handleCancel(w http.ResponseWriter, r *http.Request) {
	j, err := c.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// handleFile streams one of a job's JSONL files. Lines are written only
// whole (up to the last '\n'), so a reader never sees half a record. With
// follow=true it keeps streaming new lines until the job is terminal and
// the file read to its end.
func (c *Coordinator) handleFile(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := c.Get(r.Context(), id); err != nil {
			c.writeErr(w, r, err)
			return
		}
		if !idPattern.MatchString(id) {
			writeJSON(w, http.StatusNotFound, apiError{ErrJobNotFound.Error()})
			return
		}
		f, err := os.Open(filepath.Join(c.jobDir(id), name))
		if err != nil {
			c.writeErr(w, r, err)
			return
		}
		defer f.Close()
		follow := r.URL.Query().Get("follow") == "true"
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		fl, _ := w.(http.Flusher)
		rd := bufio.NewReaderSize(f, 1<<20)
		var partial []byte
		t := time.NewTicker(followPoll)
		defer t.Stop()
		for {
			line, err := rd.ReadBytes('\n')
			if err == nil {
				if len(partial) > 0 {
					line = append(partial, line...)
					partial = nil
				}
				if _, werr := w.Write(line); werr != nil {
					return
				}
				continue
			}
			if !errors.Is(err, io.EOF) {
				return
			}
			partial = append(partial, line...) // a line still being written
			if fl != nil {
				fl.Flush()
			}
			if !follow {
				return
			}
			j, gerr := c.Get(r.Context(), id)
			if gerr != nil || j.State.Terminal() && len(partial) == 0 && c.drained(f) {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		}
	}
}

// drained reports whether f's reader has reached the file's current size.
func (c *Coordinator) drained(f *os.File) bool {
	pos, err1 := f.Seek(0, io.SeekCurrent)
	st, err2 := f.Stat()
	return err1 == nil && err2 == nil && pos >= st.Size()
}

func (c *Coordinator) notLeader(w http.ResponseWriter, r *http.Request) {
	if addr, err := c.Leader(r.Context()); err == nil && addr != "" {
		w.Header().Set(HeaderLeader, addr)
	}
	writeJSON(w, http.StatusServiceUnavailable, apiError{ErrNotLeader.Error()})
}

func (c *Coordinator) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotLeader):
		c.notLeader(w, r)
	case errors.Is(err, ErrInvalidSpec):
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
	case errors.Is(err, ErrJobNotFound), errors.Is(err, os.ErrNotExist):
		writeJSON(w, http.StatusNotFound, apiError{err.Error()})
	case errors.Is(err, ErrJobExists):
		writeJSON(w, http.StatusConflict, apiError{err.Error()})
	case errors.Is(err, ErrNoWorker):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{err.Error()})
	default:
		c.log.Warn("api error", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
