package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
)

// Worker states in WorkerStatus.State, as `hintfleet top` shows them.
const (
	WorkerReady     = "ready"
	WorkerDraining  = "draining"
	WorkerUnhealthy = "unhealthy"
)

// WorkerStatus is one registered worker as GET /v1/workers lists it: its
// registration (cluster.WorkerInfo, which the worker keeps current) plus
// the claims it holds in etcd. The JSON names are those `hintfleet top`
// reads (see package top); unknown fields are ignored there.
type WorkerStatus struct {
	ID    string `json:"id"`
	Pool  string `json:"pool"`
	Model string `json:"model"`
	// Engine is the first of Engines, for readers that show one.
	Engine  string   `json:"engine"`
	Engines []string `json:"engines,omitempty"`
	// State is WorkerReady, WorkerDraining or WorkerUnhealthy; Health and
	// Reasons are the worker's own words.
	State   string   `json:"state"`
	Health  string   `json:"health,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Capacity is what it admits now and Limit its concurrency limit (the
	// adaptive limits, or fixed concurrency × engines).
	Capacity int `json:"capacity"`
	Limit    int `json:"limit"`
	// InFlight is the claims it holds in etcd now: the tasks it runs.
	InFlight     int               `json:"in_flight"`
	TokensPerSec float64           `json:"tokens_per_s"`
	MetricsURL   string            `json:"metrics_url,omitempty"`
	GPUs         []cluster.GPUInfo `json:"gpus"`
	Since        time.Time         `json:"since,omitzero"`
}

// Workers lists the live workers from their etcd registrations, sorted by
// id, with the claims each holds. Any replica answers it.
func (c *Coordinator) Workers(ctx context.Context) ([]WorkerStatus, error) {
	resp, err := c.conn.Etcd.Txn(ctx).Then(
		clientv3.OpGet(cluster.WorkersPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(cluster.ClaimsPrefix, clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	claims := map[string]int{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		if cv, err := cluster.DecodeClaim(kv.Value); err == nil {
			claims[cv.Worker]++
		}
	}
	var out []WorkerStatus
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var info cluster.WorkerInfo
		if err := json.Unmarshal(kv.Value, &info); err != nil {
			c.log.Warn("bad worker registration", "key", string(kv.Key), "err", err)
			continue
		}
		out = append(out, workerStatus(info, claims[info.ID]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func workerStatus(info cluster.WorkerInfo, claims int) WorkerStatus {
	ws := WorkerStatus{
		ID: info.ID, Pool: info.Pool, Model: info.Model, Engines: info.Engines,
		Health: info.Health, Reasons: info.Reasons, Capacity: info.Capacity, Limit: info.Limit,
		InFlight: claims, TokensPerSec: info.TokensPerSec, MetricsURL: info.MetricsURL,
		GPUs: info.GPUs, Since: info.Since,
	}
	if ws.GPUs == nil {
		ws.GPUs = []cluster.GPUInfo{}
	}
	if len(info.Engines) > 0 {
		ws.Engine = info.Engines[0]
	}
	if ws.Limit == 0 {
		ws.Limit = info.Capacity // a worker that predates Limit
	}
	switch {
	case info.Health == cluster.HealthUnhealthy:
		ws.State = WorkerUnhealthy
	case info.Draining || info.Health == cluster.HealthDraining:
		ws.State = WorkerDraining
	default:
		ws.State = WorkerReady
	}
	return ws
}

func (c *Coordinator) handleWorkers(w http.ResponseWriter, r *http.Request) {
	ws, err := c.Workers(r.Context())
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	if ws == nil {
		ws = []WorkerStatus{}
	}
	writeJSON(w, http.StatusOK, ws)
}

// jobListItem is a Job in GET /v1/jobs with its counts also at the top
// level, under the names `hintfleet top` reads (submitted = tasks). Client
// decodes it as a Job and ignores the extra fields.
type jobListItem struct {
	Job
	Submitted    int     `json:"submitted"`
	Queued       int     `json:"queued"`
	Running      int     `json:"running"`
	Done         int     `json:"done"`
	DeadLettered int     `json:"dead_lettered"`
	InFlight     int     `json:"in_flight"`
	Tokens       int64   `json:"tokens"`
	TokensPerSec float64 `json:"tokens_per_s"`
}

func listItems(jobs []Job) []jobListItem {
	out := make([]jobListItem, 0, len(jobs))
	for _, j := range jobs {
		c := j.Counts
		out = append(out, jobListItem{Job: j, Submitted: c.Tasks, Queued: c.Queued, Running: c.Running, Done: c.Done,
			DeadLettered: c.DeadLettered, InFlight: c.InFlight, Tokens: c.Tokens, TokensPerSec: c.TokensPerSec})
	}
	return out
}

// Workers lists the fleet's live workers (GET /v1/workers).
func (c *Client) Workers(ctx context.Context) ([]WorkerStatus, error) {
	var ws []WorkerStatus
	return ws, c.do(ctx, http.MethodGet, "/v1/workers", nil, &ws)
}
