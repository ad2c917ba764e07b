package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/trajectory"
)

// TestDeltaApplyDiff grows logs the ways the recorder grows them (a request
// streams on, closes, a tool call lands, a new request opens, a resumed
// attempt diverges from the log it replays) in random order, and checks
// that applying each save's delta to the log before it gives the log saved.
func TestDeltaApplyDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var stored, cur Checkpoint
		for step := range 40 {
			mutate(rng, &cur)
			d, ok := diff(stored, cur)
			if !ok {
				if !isPrefix(cur, stored) {
					t.Fatalf("trial %d step %d: nothing to write, but %+v is not a prefix of %+v", trial, step, cur, stored)
				}
				continue
			}
			got := clone(stored)
			if err := got.apply(d); err != nil {
				t.Fatalf("trial %d step %d: apply: %v", trial, step, err)
			}
			if !reflect.DeepEqual(norm(got), norm(cur)) {
				t.Fatalf("trial %d step %d: applied\n%+v\nwant\n%+v\ndelta %+v", trial, step, got, cur, d)
			}
			stored = clone(cur)
		}
	}
}

func norm(cp Checkpoint) Checkpoint {
	if len(cp.Requests) == 0 {
		cp.Requests = nil
	}
	if len(cp.Tools) == 0 {
		cp.Tools = nil
	}
	return cp
}

func isPrefix(a, b Checkpoint) bool {
	return commonPrefix(a.Requests, b.Requests) == len(a.Requests) && commonPrefix(a.Tools, b.Tools) == len(a.Tools)
}

// mutate changes cp the way one stretch of a task's run does.
func mutate(rng *rand.Rand, cp *Checkpoint) {
	n := len(cp.Requests)
	switch k := rng.IntN(10); {
	case k < 5 && n > 0 && !cp.Requests[n-1].Complete: // streams on
		r := &cp.Requests[n-1]
		r.Text += strings.Repeat("x", 1+rng.IntN(50))
		r.CompletionTokens += 3
	case k < 6 && n > 0: // closes
		cp.Requests[n-1].Complete = true
		cp.Requests[n-1].FinishReason = "stop"
	case k < 7: // a tool call
		cp.Tools = append(cp.Tools, RecordedTool{Lang: "python", Code: fmt.Sprint(rng.IntN(9)), Result: hint.ToolResult{Output: "ok"}})
	case k < 9: // a new request
		cp.Requests = append(cp.Requests, RecordedRequest{PromptSHA256: fmt.Sprint(rng.IntN(1000)), Text: "y"})
	default: // a new attempt diverges at some request
		if n > 0 {
			i := rng.IntN(n)
			cp.Requests = append(cp.Requests[:i:i], RecordedRequest{PromptSHA256: "other", Text: "z"})
			cp.Tools = cp.Tools[:rng.IntN(len(cp.Tools)+1):len(cp.Tools)]
		}
	}
}

// TestCheckpointLogInBucket runs the resume scenario of
// TestCheckpointResume against the real bucket: every save of the first
// attempt reads back as the log saved; the second attempt, saving only at
// step boundaries, writes one entry: the continuation, not the requests it
// replayed; a compaction leaves one
// entry that reads back whole; removal leaves none. (The bytes written per
// trajectory byte are measured by BenchmarkCheckpointBytes, at realistic
// save intervals: here every chunk is saved.)
func TestCheckpointLogInBucket(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	store, err := openCheckpoints(ctx, env.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	puts := 0
	store.written = func(int) { puts++ }
	entries := func() int {
		keys, err := store.kv.ListKeysFiltered(ctx, "t1.>")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range keys.Keys() {
			n++
		}
		return n
	}

	problem := trajectory.Problem{ID: "p", Kind: trajectory.KindMath, Question: "What is 2+2?", Answer: "4"}
	cfg := hint.Config{Policy: hint.Policy{Mode: hint.TriggerEvery}, Triggers: []string{"Wait"}}
	long := "Now the long part of the thinking, which goes on and on. The answer is \\boxed{4}."
	first := &scriptGen{scripts: []script{
		{text: "First I add the numbers. Wait, check that."},
		{text: " Adding again gives four. Wait, once more."},
		{text: long, failAfter: 4, err: errors.New("connection reset")},
	}}
	log1 := store.log("t1", nil)
	rec := newRecorder(first, nil, Checkpoint{TaskID: "t1", Attempt: 1, Worker: "w1"}, 0, func(cp Checkpoint) {
		if err := log1.save(ctx, cp); err != nil {
			t.Fatal(err)
		}
		got, err := store.load(ctx, "t1")
		if err != nil || got == nil {
			t.Fatalf("load after save: %v, %v", got, err)
		}
		if !reflect.DeepEqual(norm(*got), norm(cp)) {
			t.Fatalf("read back\n%+v\nwant\n%+v", *got, cp)
		}
	})
	if _, err := hint.Run(ctx, rec, nil, problem, cfg); !errors.Is(err, hint.ErrEngine) {
		t.Fatalf("first attempt: %v, want an engine error", err)
	}
	if err := log1.compact(ctx, rec.log); err != nil {
		t.Fatal(err)
	}
	if n := entries(); n != 1 {
		t.Fatalf("%d entries after compaction, want 1", n)
	}
	old, err := store.load(ctx, "t1")
	if err != nil || old == nil || !reflect.DeepEqual(norm(*old), norm(rec.log)) {
		t.Fatalf("compacted log %+v (%v), want %+v", old, err, rec.log)
	}

	putsBefore := puts
	second := &scriptGen{scripts: []script{{text: long[24:]}}}
	log2 := store.log("t1", old)
	var saves []Checkpoint
	rec2 := newRecorder(second, old, Checkpoint{TaskID: "t1", Attempt: 2, Worker: "w2"}, time.Hour, func(cp Checkpoint) {
		saves = append(saves, clone(cp))
		if err := log2.save(ctx, cp); err != nil {
			t.Fatal(err)
		}
	})
	tr, err := hint.Run(ctx, rec2, nil, problem, cfg)
	if err != nil {
		t.Fatalf("resumed attempt: %v", err)
	}
	if got := puts - putsBefore; got != 1 {
		t.Fatalf("resumed attempt wrote %d entries over %d saves, want 1 (the continuation)", got, len(saves))
	}
	got, err := store.load(ctx, "t1")
	if err != nil || !reflect.DeepEqual(norm(*got), norm(rec2.log)) {
		t.Fatalf("resumed log read back %+v (%v), want %+v", got, err, rec2.log)
	}
	if !strings.HasSuffix(tr.Text, long) {
		t.Fatalf("resumed text %q", tr.Text)
	}
	if err := store.remove(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if n := entries(); n != 0 {
		t.Fatalf("%d entries after removal, want 0", n)
	}
	if cp, err := store.load(ctx, "t1"); cp != nil || err != nil {
		t.Fatalf("load after removal: %+v, %v", cp, err)
	}
}

// TestCheckpointLoadStopsAtBrokenChain: a delta that does not fit the log
// before it (its predecessor was lost) ends the rebuilt log there.
func TestCheckpointLoadStopsAtBrokenChain(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	store, err := openCheckpoints(ctx, env.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	l := store.log("t2", nil)
	one := Checkpoint{TaskID: "t2", Requests: []RecordedRequest{{PromptSHA256: "a", Text: "one", Complete: true}}}
	if err := l.save(ctx, one); err != nil {
		t.Fatal(err)
	}
	// Keeps three requests of a log that has one.
	if _, err := l.put(ctx, checkpointDelta{Req: 3, Requests: []RecordedRequest{{PromptSHA256: "d", Text: "four"}}}, one); err != nil {
		t.Fatal(err)
	}
	got, err := store.load(ctx, "t2")
	if err != nil || got == nil || len(got.Requests) != 1 || got.Requests[0].Text != "one" {
		t.Fatalf("load: %+v, %v; want the one request before the broken delta", got, err)
	}
}
