// Package fleettest holds what the fleet's tests share: small problems the
// simulated engine knows, their JSONL form, a quiet logger, and a simulated
// engine started for a test. It is imported only by tests.
package fleettest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Model is the model name the test engines serve.
const Model = "sim-test"

// Log is quiet unless HINTFLEET_TEST_LOG is set.
func Log() *slog.Logger {
	if os.Getenv("HINTFLEET_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Problems returns n small arithmetic problems with reference answers;
// ids are p00, p01, … padded to the width n needs.
func Problems(n int) []trajectory.Problem {
	width := max(2, len(fmt.Sprint(n-1)))
	ps := make([]trajectory.Problem, n)
	for i := range ps {
		ps[i] = trajectory.Problem{ID: fmt.Sprintf("p%0*d", width, i), Kind: trajectory.KindMath,
			Question: fmt.Sprintf("Problem %0*d: what is %d plus %d? Give the number.", width, i, 17*i+3, 29*i+5),
			Answer:   fmt.Sprint(46*i + 8)}
	}
	return ps
}

// JSONL renders problems as a problems file: one {id, question, answer} a line.
func JSONL(ps []trajectory.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		line, _ := json.Marshal(map[string]string{"id": p.ID, "question": p.Question, "answer": p.Answer})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// StartSim runs a fast simulated engine that knows ps until the test ends
// and returns it with a client; mod, if not nil, tunes its config.
func StartSim(tb testing.TB, ps []trajectory.Problem, mod func(*sim.Config)) (*sim.Server, *engine.Client) {
	tb.Helper()
	cfg := sim.DefaultConfig()
	cfg.Model = Model
	cfg.MaxModelLen = 4096
	cfg.KVCacheTokens = 65536
	cfg.Speedup = 200
	cfg.Reasoner.ReasoningTokens = 80
	cfg.Problems = ps
	if mod != nil {
		mod(&cfg)
	}
	srv, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	url, err := srv.Start(tb.Context(), "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	c, err := engine.New(url, engine.WithModel(Model))
	if err != nil {
		tb.Fatal(err)
	}
	return srv, c
}

// WaitJob waits, by watching the job's registry key in etcd, until pred
// holds for the job, and fails the test if limit passes first.
func WaitJob(tb testing.TB, cli *clientv3.Client, id string, limit time.Duration, pred func(coordinator.Job) bool) coordinator.Job {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	key := cluster.JobKey(id)
	resp, err := cli.Get(ctx, key)
	if err != nil {
		tb.Fatal(err)
	}
	var j coordinator.Job
	if len(resp.Kvs) == 1 {
		_ = json.Unmarshal(resp.Kvs[0].Value, &j)
		if pred(j) {
			return j
		}
	}
	for wr := range cli.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1)) {
		for _, ev := range wr.Events {
			if err := json.Unmarshal(ev.Kv.Value, &j); err == nil && pred(j) {
				return j
			}
		}
	}
	tb.Fatalf("job %s: condition not reached before the deadline; last %+v", id, j)
	return j
}
