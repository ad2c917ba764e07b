package coordinator

import (
	"bufio"
	"context"
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

// maxSpecBytes bounds a submit body (inline problems included).
const maxSpecBytes = 512 << 20

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
func (c *Coordinator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", c.handleSubmit)
	mux.HandleFunc("GET /v1/jobs", c.handleList)
	mux.HandleFunc("GET /v1/jobs/{id}", c.handleGet)
	mux.HandleFunc("DELETE /v1/jobs/{id}", c.handleCancel)
	mux.HandleFunc("GET /v1/jobs/{id}/trajectories", c.handleFile(TrajectoriesFile))
	mux.HandleFunc("GET /v1/jobs/{id}/dead_letters", c.handleFile(DeadLettersFile))
	mux.HandleFunc("GET /v1/workers", c.handleWorkers)
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "leader": c.IsLeader()})
	})
	return mux
}

// Serve serves Handler on ln until ctx ends, then shuts down, waiting up to
// serve.DefaultGrace for requests in flight; long-lived requests (waits,
// streams) end with ctx.
func (c *Coordinator) Serve(ctx context.Context, ln net.Listener) error {
	if err := serve.HTTP(ctx, ln, c.Handler(), serve.WithLogger(c.log)); err != nil {
		return fmt.Errorf("coordinator api: %w", err)
	}
	return nil
}

func (c *Coordinator) handleSubmit(w http.ResponseWriter, r *http.Request) {
	if !c.IsLeader() {
		c.notLeader(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSpecBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{err.Error()})
		return
	}
	spec, err := DecodeSpec(body)
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
