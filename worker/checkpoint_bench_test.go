package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// BenchmarkCheckpointBytes runs hint sessions (half with hints on the first
// two "Wait"s and the tool calls they lead to, half one long request;
// reasoning of ~8k tokens) against engine/sim through the recorder and the delta log, as
// a worker does, saving every 5 s of simulated time, and compares the bytes
// written to the CHECKPOINTS bucket with the bytes of the trajectories
// published. The baseline, measured at the same save points in the same
// run, is what the previous scheme wrote: the whole log at every save.
//
// BENCH checkpoint_bytes_per_trajectory_byte: delta-log bytes over the
// bytes of the trajectory records (the JSON a worker publishes);
// checkpoint_full_bytes_per_trajectory_byte the same for the old scheme.
func BenchmarkCheckpointBytes(b *testing.B) {
	b.ReportAllocs()
	const (
		tasks   = 24
		speedup = 50
		every   = 5 * time.Second // simulated
	)
	env := clustertest.Start(b)
	ps := fleettest.Problems(tasks)
	_, c := fleettest.StartSim(b, ps, func(cfg *sim.Config) {
		cfg.Speedup = speedup
		cfg.MaxModelLen = 32768
		cfg.KVCacheTokens = 1 << 20
		cfg.MaxNumSeqs = 64
		cfg.Reasoner.ReasoningTokens = 8000
	})
	engines, err := infer.NewEngines([]*engine.Client{c}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	store, err := openCheckpoints(ctx, env.Conn.JS)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var deltaBytes, fullBytes, trajBytes, textBytes, saves int
	store.written = func(n int) { mu.Lock(); deltaBytes += n; mu.Unlock() }
	cfg := hint.Config{Policy: hint.Policy{Mode: hint.TriggerFirst, K: 2}, Triggers: []string{"Wait"}, MaxTokens: 32000}
	for i := 0; i < b.N; i++ {
		var g errgroup.Group
		for k, p := range ps {
			g.Go(func() error {
				task := fmt.Sprintf("bench/%s/%d", p.ID, k)
				l := store.log(task, nil)
				rec := newRecorder(engines.Pick(), nil, Checkpoint{TaskID: task, Attempt: 1, Worker: "w"}, every/speedup, func(cp Checkpoint) {
					full, _ := json.Marshal(cp)
					mu.Lock()
					fullBytes += len(full)
					saves++
					mu.Unlock()
					if err := l.save(ctx, cp); err != nil {
						b.Error(err)
					}
				})
				c := cfg
				c.Seed = int64(k)
				if k%2 == 1 {
					c.Policy = hint.Policy{} // one long request, saved as it streams
				}
				tr, err := hint.Run(ctx, rec, rec.Tool(printTool{}), p, c)
				if err != nil {
					return fmt.Errorf("task %s: %w", task, err)
				}
				out, _ := json.Marshal(tr)
				mu.Lock()
				trajBytes += len(out)
				textBytes += len(tr.Text)
				mu.Unlock()
				return store.remove(ctx, task)
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Printf("# %d trajectories: %d bytes of records (%d of text), %d saves; delta log wrote %d bytes, whole-log saves %d\n",
		tasks*b.N, trajBytes, textBytes, saves, deltaBytes, fullBytes)
	fmt.Printf("# delta log per byte of text: %.3f\n", float64(deltaBytes)/float64(textBytes))
	fmt.Printf("BENCH checkpoint_bytes_per_trajectory_byte %.3f x\n", float64(deltaBytes)/float64(trajBytes))
	fmt.Printf("BENCH checkpoint_full_bytes_per_trajectory_byte %.3f x\n", float64(fullBytes)/float64(trajBytes))
}

// printTool answers the sim's tool code, print(<answer>), with what it
// prints: the benchmark needs tool calls of the right shape, not Python.
type printTool struct{}

func (printTool) Exec(_ context.Context, _, code string) (hint.ToolResult, error) {
	out, _ := strings.CutPrefix(strings.TrimSpace(code), "print(")
	return hint.ToolResult{Output: strings.TrimSuffix(out, ")") + "\n"}, nil
}
func (printTool) Languages() []string         { return []string{"python"} }
func (printTool) Close(context.Context) error { return nil }
