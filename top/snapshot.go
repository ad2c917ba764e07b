package top

import (
	"context"
	"time"
)

// Source reads the fleet's state once. Implementations must honour ctx.
type Source interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Snapshot is the fleet at one moment.
type Snapshot struct {
	At      time.Time `json:"at"`
	Workers []Worker  `json:"workers"`
	Jobs    []Job     `json:"jobs"`
	// Warnings are partial failures (a worker's metrics scrape) shown
	// under the tables.
	Warnings []string `json:"warnings,omitempty"`
}

// DeadLetters is the sum over the jobs' dead-lettered tasks.
func (s Snapshot) DeadLetters() int {
	n := 0
	for _, j := range s.Jobs {
		n += j.DeadLettered
	}
	return n
}

// Worker is one worker process and the GPUs of its node.
type Worker struct {
	ID     string `json:"id"`
	Engine string `json:"engine"`
	State  string `json:"state"`
	// InFlight is the trajectories running; Limit the adaptive limit.
	InFlight int `json:"in_flight"`
	Limit    int `json:"limit"`
	// TokensPerSec is what this worker produced lately, not its engine's
	// total (which other clients share).
	TokensPerSec float64 `json:"tokens_per_s"`
	// MetricsURL is the node's dcgm-named /metrics, scraped when set.
	MetricsURL string `json:"metrics_url"`
	GPUs       []GPU  `json:"gpus"`
}

// GPU is one device as the worker or its exporter reports it.
type GPU struct {
	Index       int     `json:"index"`
	Name        string  `json:"name"`
	UtilPercent float64 `json:"util"`
	MemUsedMiB  float64 `json:"mem_used_mib"`
	MemTotalMiB float64 `json:"mem_total_mib"`
	TempC       float64 `json:"temp_c"`
}

// Job is one job's progress.
type Job struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Submitted int    `json:"submitted"`
	// Queued tasks wait for a worker; Running ones a worker holds now.
	Queued       int   `json:"queued"`
	Running      int   `json:"running"`
	Done         int   `json:"done"`
	DeadLettered int   `json:"dead_lettered"`
	InFlight     int   `json:"in_flight"`
	Tokens       int64 `json:"tokens"`
	// Waiting says why its queued tasks do not move, when the API knows.
	Waiting string `json:"waiting,omitempty"`
	// TokensPerSec is the job's recent rate; HTTPSource derives it from
	// Tokens when the API does not say.
	TokensPerSec float64 `json:"tokens_per_s"`
}

// Progress is the finished share of the job, dead letters included, 0..1.
func (j Job) Progress() float64 {
	if j.Submitted <= 0 {
		return 0
	}
	return min(1, float64(j.Done+j.DeadLettered)/float64(j.Submitted))
}

// historyLen is how many refreshes a sparkline shows.
const historyLen = 40

// History keeps recent tokens/s per job and per worker for sparklines. Not
// safe for concurrent use; the UI's one goroutine owns it.
type History struct {
	jobs, workers map[string][]float64
}

// NewHistory returns an empty History.
func NewHistory() *History {
	return &History{jobs: map[string][]float64{}, workers: map[string][]float64{}}
}

// Add appends s's rates; series of jobs and workers no longer present are
// dropped.
func (h *History) Add(s Snapshot) {
	jobs := make(map[string][]float64, len(s.Jobs))
	for _, j := range s.Jobs {
		jobs[j.ID] = push(h.jobs[j.ID], j.TokensPerSec)
	}
	workers := make(map[string][]float64, len(s.Workers))
	for _, w := range s.Workers {
		workers[w.ID] = push(h.workers[w.ID], w.TokensPerSec)
	}
	h.jobs, h.workers = jobs, workers
}

func push(xs []float64, v float64) []float64 {
	xs = append(xs, v)
	if len(xs) > historyLen {
		xs = xs[len(xs)-historyLen:]
	}
	return xs
}

// Job returns the recent rates of job id, oldest first.
func (h *History) Job(id string) []float64 { return h.jobs[id] }

// Worker returns the recent rates of worker id, oldest first.
func (h *History) Worker(id string) []float64 { return h.workers[id] }
