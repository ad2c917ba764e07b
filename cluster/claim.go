package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// WorkerInfo is a worker's registration under WorkerKey, bound to its lease:
// what the scheduler needs to place work on it. Load for placement is not
// here; it is the count of the worker's claims, which etcd already holds.
//
// The fields after Draining are for operators (`hintfleet status`, `top`,
// GET /v1/workers): the worker rewrites them when they change, health at
// once and the load figures (InFlight, Limit, TokensPerSec, GPU readings)
// at most every 30 s, so they are recent but not exact.
type WorkerInfo struct {
	ID       string   `json:"id"`
	Pool     string   `json:"pool"`
	Model    string   `json:"model"`
	Engines  []string `json:"engines,omitempty"`
	Capacity int      `json:"capacity"`
	Draining bool     `json:"draining,omitempty"`

	// Health is HealthOK, HealthDraining or HealthUnhealthy; empty from a
	// worker that predates it. Reasons say why it is not OK (and which
	// engines are down while it still works on the others).
	Health  string   `json:"health,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// InFlight is the tasks it runs now, Limit the sessions it admits now
	// (fixed concurrency or the adaptive limits, summed over engines).
	InFlight int `json:"in_flight,omitempty"`
	Limit    int `json:"limit,omitempty"`
	// TokensPerSec is the completion tokens it produced per second lately
	// (its own sessions, not its engines' totals, which other clients share).
	TokensPerSec float64 `json:"tokens_per_s,omitempty"`
	// MetricsURL is where its /metrics (fleet and GPU series) is served.
	MetricsURL string `json:"metrics_url,omitempty"`
	// GPUs is the last poll of its devices; empty on a node without any.
	GPUs []GPUInfo `json:"gpus,omitempty"`
	// Since is when this registration (this lease) began.
	Since time.Time `json:"since,omitzero"`
}

// Worker health states in WorkerInfo.Health.
const (
	HealthOK        = "healthy"
	HealthDraining  = "draining"
	HealthUnhealthy = "unhealthy"
)

// GPUInfo is one device of a worker's node as the registration reports it.
// The JSON names are those `hintfleet top` reads; util is a percentage as
// DCGM_FI_DEV_GPU_UTIL.
type GPUInfo struct {
	Index       int      `json:"index"`
	UUID        string   `json:"uuid,omitempty"`
	Name        string   `json:"name,omitempty"`
	UtilPercent float64  `json:"util"`
	MemUsedMiB  float64  `json:"mem_used_mib"`
	MemTotalMiB float64  `json:"mem_total_mib"`
	TempC       float64  `json:"temp_c"`
	Healthy     bool     `json:"healthy"`
	Reasons     []string `json:"reasons,omitempty"`
	// Engines are the URLs of the worker's engines that run on this GPU
	// (on it whole or on one of its MIG instances): the engines a fault
	// here drains. An engine whose GPUs were not given is on every GPU.
	Engines []string `json:"engines,omitempty"`
	// MIG lists the GPU's MIG instances when it is in MIG mode.
	MIG []MIGInfo `json:"mig,omitempty"`
}

// MIGInfo is one MIG GPU instance in GPUInfo; ID and Profile are
// dcgm-exporter's GPU_I_ID and GPU_I_PROFILE labels.
type MIGInfo struct {
	ID          int      `json:"id"`
	Profile     string   `json:"profile"`
	UUID        string   `json:"uuid,omitempty"`
	MemUsedMiB  float64  `json:"mem_used_mib"`
	MemTotalMiB float64  `json:"mem_total_mib"`
	Engines     []string `json:"engines,omitempty"`
}

// ClaimValue is the value of a claim key: who runs which attempt, and what
// the requeuer needs to redeliver it without asking anyone.
type ClaimValue struct {
	// Task is set by Claim; the key holds it only escaped.
	Task    string `json:"task"`
	Worker  string `json:"worker"`
	Attempt int    `json:"attempt"`
	Job     string `json:"job"`
	Pool    string `json:"pool"`
	// AckSubject is the JetStream reply subject of the delivery being worked
	// on. The requeuer's planner terminates that delivery when it republishes,
	// so JetStream does not redeliver it again after AckWait.
	AckSubject string `json:"ack_subject,omitempty"`
}

// DecodeClaim parses a claim key's value.
func DecodeClaim(b []byte) (ClaimValue, error) {
	var v ClaimValue
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode claim: %w", err)
	}
	return v, nil
}

// Register writes the worker's registration bound to the lease, replacing an
// earlier one (a drain flag, a new capacity).
func (l *Lease) Register(ctx context.Context, info WorkerInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("register worker %s: %w", info.ID, err)
	}
	if _, err := l.cli.Put(ctx, WorkerKey(info.ID), string(b), clientv3.WithLease(l.id)); err != nil {
		return fmt.Errorf("register worker %s: %w", info.ID, err)
	}
	return nil
}

// Claim takes the task for this lease's holder. It succeeds only if no one
// holds the claim (the key's CreateRevision is 0), the task has no done
// marker, and v.Attempt is not older than the attempt the requeuer recorded;
// all three are checked in one etcd transaction, so two workers that pulled
// copies of the same task cannot both win. The returned revision fences the
// claim: Release must present it.
//
// Claim is idempotent: a claim this lease already holds with the same value
// (the same delivery: v.AckSubject names it) is returned as made. A try
// whose answer was lost (etcd unreachable after the commit) may have
// claimed the task; the caller must try again until the answer is known,
// or the claim stays under its live lease with nobody running the task.
//
// Errors: ErrClaimed, ErrDone, ErrStaleAttempt (ack and drop the message in
// all three: Settled tells them), ErrLeaseLost if the lease is gone (the
// claim, if made, went with it); any other error leaves the outcome
// unknown.
func (l *Lease) Claim(ctx context.Context, task string, v ClaimValue) (int64, error) {
	v.Task = task
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("claim task %s: %w", task, err)
	}
	ck, dk, ak := ClaimKey(task), DoneKey(task), AttemptsKey(task)
	// One round trip in the common case: the transaction assumes the
	// attempts key is absent (a first attempt nobody requeued) and, when it
	// is not, its Else reads it, so the next try compares the revision
	// seen there. If the requeuer bumps it in between, the compare fails
	// and the loop reads it again. A read before every claim doubled the
	// claim's round trips, the largest part of the dispatch gap at scale
	// (docs/scale.md).
	var attemptsRev int64
	for {
		resp, err := l.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.CreateRevision(ck), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(dk), "=", 0),
			clientv3.Compare(clientv3.ModRevision(ak), "=", attemptsRev),
		).Then(
			clientv3.OpPut(ck, string(b), clientv3.WithLease(l.id)),
		).Else(
			clientv3.OpGet(ck),
			clientv3.OpGet(dk, clientv3.WithCountOnly()),
			clientv3.OpGet(ak),
		).Commit()
		if err != nil {
			if l.Err() != nil {
				return 0, fmt.Errorf("claim task %s: %w", task, l.Err())
			}
			return 0, fmt.Errorf("claim task %s: %w", task, err)
		}
		if resp.Succeeded {
			return resp.Header.Revision, nil
		}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
			if kvs[0].Lease == int64(l.id) && bytes.Equal(kvs[0].Value, b) {
				// This very claim, made by an earlier try whose answer was
				// lost (the member under it died after the commit).
				return kvs[0].CreateRevision, nil
			}
		}
		switch {
		case resp.Responses[1].GetResponseRange().Count > 0:
			return 0, fmt.Errorf("claim task %s: %w", task, ErrDone)
		case resp.Responses[0].GetResponseRange().Count > 0:
			return 0, fmt.Errorf("claim task %s: %w", task, ErrClaimed)
		}
		// Only the attempts key differs from what was assumed: check the
		// recorded attempt, then try again at its revision.
		attemptsRev = 0
		if kvs := resp.Responses[2].GetResponseRange().Kvs; len(kvs) == 1 {
			attemptsRev = kvs[0].ModRevision
			recorded, _ := strconv.Atoi(string(kvs[0].Value))
			if v.Attempt < recorded {
				return 0, fmt.Errorf("claim task %s attempt %d: recorded %d: %w", task, v.Attempt, recorded, ErrStaleAttempt)
			}
		}
	}
}

// HeldClaim is a claim a lease holds: the task and the revision that made
// it (what Release must present).
type HeldClaim struct {
	Task     string
	Revision int64
}

// Claims lists the claims this lease holds, read from the keys etcd has
// attached to it (one request however large the fleet), so that a worker
// can find a claim it holds for a task it does not run.
func (l *Lease) Claims(ctx context.Context) ([]HeldClaim, error) {
	ttl, err := l.cli.TimeToLive(ctx, l.id, clientv3.WithAttachedKeys())
	if err != nil {
		return nil, fmt.Errorf("list claims of lease %x: %w", int64(l.id), err)
	}
	var ops []clientv3.Op
	for _, k := range ttl.Keys {
		if strings.HasPrefix(string(k), ClaimsPrefix) {
			ops = append(ops, clientv3.OpGet(string(k)))
		}
	}
	var out []HeldClaim
	for len(ops) > 0 {
		n := min(len(ops), maxTxnOps)
		resp, err := l.cli.Txn(ctx).Then(ops[:n]...).Commit()
		if err != nil {
			return nil, fmt.Errorf("list claims of lease %x: %w", int64(l.id), err)
		}
		ops = ops[n:]
		for _, r := range resp.Responses {
			for _, kv := range r.GetResponseRange().Kvs {
				v, err := DecodeClaim(kv.Value)
				if err != nil || kv.Lease != int64(l.id) {
					continue
				}
				out = append(out, HeldClaim{Task: v.Task, Revision: kv.CreateRevision})
			}
		}
	}
	return out, nil
}

// maxTxnOps is etcd's default limit of operations in one transaction
// (--max-txn-ops).
const maxTxnOps = 128

// Settled reports whether err from Claim is a definite refusal: someone
// else holds the claim, the task is done, or the attempt is stale.
func Settled(err error) bool {
	return errors.Is(err, ErrClaimed) || errors.Is(err, ErrDone) || errors.Is(err, ErrStaleAttempt)
}

// Release gives up the claim made at rev. With done, it first marks the task
// done in the same transaction, which is how the requeuer tells a finished
// task (result already published) from one handed back for redelivery (drain)
// or one whose lease expired. Call it with done only after the result's
// publish was acked.
//
// ErrNotClaimed means the claim at rev no longer exists: the lease expired and
// the task may be running elsewhere; the result, if published, is deduped.
func (l *Lease) Release(ctx context.Context, task string, rev int64, done bool) error {
	ck := ClaimKey(task)
	ops := []clientv3.Op{clientv3.OpDelete(ck)}
	if done {
		ops = append([]clientv3.Op{clientv3.OpPut(DoneKey(task), "1")}, ops...)
	}
	resp, err := l.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(ck), "=", rev),
	).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("release task %s: %w", task, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("release task %s at revision %d: %w", task, rev, ErrNotClaimed)
	}
	return nil
}
