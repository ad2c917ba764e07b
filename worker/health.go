package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/gpu"
)

// State is a worker's health as /healthz and its registration report it.
type State string

// Worker states. Only a healthy worker takes work.
const (
	// StateHealthy: every GPU is fit and at least one engine serves (the
	// reasons name engines that are down; their tasks were handed back).
	StateHealthy State = cluster.HealthOK
	// StateDraining: Drain was called; in-flight tasks finish or are handed
	// back, nothing new is taken, and the worker then leaves.
	StateDraining State = cluster.HealthDraining
	// StateUnhealthy: no engine can take work: each fails its health check
	// or runs on a GPU with an XID error, uncorrected ECC errors or over
	// temperature. Its sessions were checkpointed and handed back; it takes
	// work again once an engine is usable. (A fault on a GPU drains only
	// the engines on it; the worker stays healthy while others serve.)
	StateUnhealthy State = cluster.HealthUnhealthy
)

// Status is the worker's health and load, the body of /healthz.
type Status struct {
	Worker   string            `json:"worker"`
	State    State             `json:"state"`
	Reasons  []string          `json:"reasons,omitempty"`
	InFlight int               `json:"in_flight"`
	Limit    int               `json:"limit"`
	Engines  []EngineStatus    `json:"engines"`
	GPUs     []cluster.GPUInfo `json:"gpus,omitempty"`
	// Checked is when the engines and GPUs were last checked; zero before
	// the first check (the worker counts as healthy until then).
	Checked time.Time `json:"checked,omitzero"`
}

// EngineStatus is one engine in Status.
type EngineStatus struct {
	URL string `json:"url"`
	// Healthy: the engine answers its health check and no GPU it runs on
	// is faulty; Error says why not.
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
	// GPUs are the devices it runs on ("0", "1:2" for MIG instance 2 of
	// GPU 1); empty when not given, which counts as every GPU.
	GPUs     []string `json:"gpus,omitempty"`
	InFlight int      `json:"in_flight"`
	Limit    int      `json:"limit"`
	Waiting  float64  `json:"waiting"`
	KVUsage  float64  `json:"kv_cache_usage"`
	// Unreported names the signals the engine's /metrics lacks (llama.cpp:
	// kv_cache, preemptions, prefix_cache, ttft), whose fields above then
	// read 0 for "unknown", not "idle".
	Unreported []string `json:"unreported,omitempty"`
	// TokensPerSec is what this worker's sessions produced on the engine
	// lately, not the engine's total.
	TokensPerSec float64 `json:"tokens_per_s"`
}

// Status returns the worker's state as of its last check, with the load of
// now. Safe for concurrent use.
func (w *Worker) Status() Status {
	w.mu.Lock()
	st := Status{Worker: w.cfg.ID, State: StateHealthy, Reasons: slices.Clone(w.health.reasons),
		GPUs: slices.Clone(w.health.gpus), Checked: w.health.checked}
	unhealthy := w.health.unhealthy
	w.mu.Unlock()
	if unhealthy {
		st.State = StateUnhealthy
	}
	if w.isDraining() {
		st.State = StateDraining
	}
	for _, s := range w.slots {
		es := EngineStatus{URL: s.eng.URL(), Healthy: s.usable(), InFlight: int(s.inflight.Load()), Limit: w.limit(s), GPUs: s.gpuRefs()}
		if p := s.probeErr.Load(); p != nil {
			es.Error = *p
		} else if f := s.gpuFault.Load(); f != nil {
			es.Error = *f
		}
		if snap := s.snap.Load(); snap != nil {
			es.Waiting, es.KVUsage = snap.RequestsWaiting, snap.KVCacheUsage
			if snap.Reported != 0 {
				es.Unreported = snap.Reported.Missing()
			}
		}
		es.TokensPerSec = s.tps.Load().(float64)
		st.InFlight += es.InFlight
		if es.Healthy {
			st.Limit += es.Limit
		}
		st.Engines = append(st.Engines, es)
	}
	return st
}

func (w *Worker) serveHealth(rw http.ResponseWriter, _ *http.Request) {
	st := w.Status()
	code := http.StatusOK
	if st.State != StateHealthy {
		code = http.StatusServiceUnavailable
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(st)
}

// healthState is the last check's verdict, guarded by Worker.mu.
type healthState struct {
	unhealthy bool
	reasons   []string
	gpus      []cluster.GPUInfo
	checked   time.Time
}

// watchHealth checks the engines and GPUs every HealthEvery until ctx ends,
// hands back the sessions a fault hits, and keeps the registration current.
func (w *Worker) watchHealth(ctx context.Context) {
	t := time.NewTicker(w.cfg.HealthEvery)
	defer t.Stop()
	var (
		last   cluster.WorkerInfo
		lastAt time.Time
	)
	for {
		w.checkHealth(ctx)
		info := w.info()
		// What placement and health read is rewritten at once; the load
		// figures alone (in flight, limit, tokens/s, GPU readings) change
		// at every check, and rewriting them every HealthEvery was one
		// etcd write per worker per 5 s: 200/s at 1,000 workers. Going
		// from idle to producing or back is rewritten at once (rare, and
		// `top` would otherwise show an idle worker's old rate for 30 s).
		changed := !sameInfo(stable(info), stable(last)) ||
			(info.TokensPerSec == 0) != (last.TokensPerSec == 0) ||
			(!sameInfo(info, last) && time.Since(lastAt) >= registrationRefresh)
		if changed && ctx.Err() == nil {
			if err := w.Lease().Register(ctx, info); err != nil {
				if ctx.Err() == nil {
					w.log.Warn("update registration", "worker", w.cfg.ID, "err", err)
				}
			} else {
				last, lastAt = info, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkHealth is one round: probe the engines, poll the GPUs, decide, and
// hand back the tasks of whatever failed. A faulty GPU drains the engines
// that run on it (all of them when their GPUs were not given); the worker
// is unhealthy only when no engine is left to take work.
func (w *Worker) checkHealth(ctx context.Context) {
	probe(ctx, w.slots, healthTimeout)
	var reasons []string
	var gpus []cluster.GPUInfo
	bad := map[int]string{}
	if w.gpus != nil {
		if err := w.gpus.Poll(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("poll gpus", "worker", w.cfg.ID, "err", err)
		}
		for _, d := range w.gpus.Devices() {
			ok, why := gpu.Health(d, w.thresholds)
			gpus = append(gpus, w.gpuInfo(d, ok, why))
			if !ok {
				bad[d.Index] = fmt.Sprintf("gpu %d (%s): %s", d.Index, d.UUID, strings.Join(why, ", "))
				reasons = append(reasons, bad[d.Index])
			}
		}
	}
	if ctx.Err() != nil {
		return // a probe cut short by the stop says nothing about health
	}
	for _, s := range w.gpuFaults(bad) {
		if f := s.gpuFault.Load(); f != nil {
			w.log.Warn("engine drained: a gpu it runs on is faulty", "worker", w.cfg.ID, "engine", s.eng.URL(), "gpus", s.gpuRefs(), "reasons", *f)
		} else {
			w.log.Info("engine back: its gpus are fit", "worker", w.cfg.ID, "engine", s.eng.URL())
		}
		w.pokeSlots()
	}
	up := 0
	for _, s := range w.slots {
		switch {
		case !s.healthy.Load():
			msg := "health check failed"
			if p := s.probeErr.Load(); p != nil {
				msg = *p
			}
			reasons = append(reasons, fmt.Sprintf("engine %s: %s", s.eng.URL(), msg))
		case s.gpuFault.Load() != nil:
			reasons = append(reasons, fmt.Sprintf("engine %s: drained: on a faulty gpu", s.eng.URL()))
		default:
			up++
		}
	}
	unhealthy := up == 0
	w.mu.Lock()
	was := w.health.unhealthy
	w.health = healthState{unhealthy: unhealthy, reasons: reasons, gpus: gpus, checked: time.Now()}
	w.mu.Unlock()
	if unhealthy != was {
		if unhealthy {
			w.log.Warn("worker unhealthy: handing back its tasks", "worker", w.cfg.ID, "reasons", reasons)
		} else {
			w.log.Info("worker healthy again", "worker", w.cfg.ID)
		}
		w.pokeSlots()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.inflight {
		switch {
		case unhealthy:
			r.cancel(fmt.Errorf("%w: %v", ErrUnhealthy, reasons))
		case !r.slot.healthy.Load():
			r.cancel(fmt.Errorf("%w: engine %s", ErrUnhealthy, r.slot.eng.URL()))
		case r.slot.gpuFault.Load() != nil:
			r.cancel(fmt.Errorf("%w: engine %s: %s", ErrUnhealthy, r.slot.eng.URL(), *r.slot.gpuFault.Load()))
		}
	}
}

// accepting reports whether s may start a task now.
func (w *Worker) accepting(s *slot) bool {
	w.mu.Lock()
	unhealthy := w.health.unhealthy
	w.mu.Unlock()
	return !unhealthy && s.usable()
}

// info is the registration as of now.
func (w *Worker) info() cluster.WorkerInfo {
	st := w.Status()
	urls := make([]string, 0, len(w.slots))
	tps := 0.0
	for _, e := range st.Engines {
		urls = append(urls, e.URL)
		tps += e.TokensPerSec
	}
	w.mu.Lock()
	since, murl := w.since, w.metricsAt
	w.mu.Unlock()
	return cluster.WorkerInfo{
		ID: w.cfg.ID, Pool: w.cfg.Pool, Model: w.cfg.Model, Engines: urls,
		Capacity: w.capacity(), Draining: st.State != StateHealthy,
		Health: string(st.State), Reasons: st.Reasons, InFlight: st.InFlight, Limit: st.Limit,
		TokensPerSec: math.Round(tps), MetricsURL: murl, GPUs: st.GPUs, Since: since,
	}
}

// sameInfo compares registrations; info rounds throughput to whole tokens
// per second so that noise alone does not rewrite the key every check.
// registrationRefresh is how stale the load figures of a registration may
// get; see watchHealth.
const registrationRefresh = 30 * time.Second

// stable is info without its load figures.
func stable(info cluster.WorkerInfo) cluster.WorkerInfo {
	info.InFlight, info.Limit, info.TokensPerSec = 0, 0, 0
	gpus := make([]cluster.GPUInfo, len(info.GPUs))
	for i, g := range info.GPUs {
		g.UtilPercent, g.MemUsedMiB, g.TempC = 0, 0, 0
		gpus[i] = g
	}
	info.GPUs = gpus
	return info
}

func sameInfo(a, b cluster.WorkerInfo) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func (w *Worker) hostname() string {
	if w.cfg.Hostname != "" {
		return w.cfg.Hostname
	}
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}
