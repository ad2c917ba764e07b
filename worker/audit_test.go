package worker

import (
	"context"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

// TestAuditHandsBackOrphanClaims: a claim the worker's lease holds for a
// task the worker does not run is handed back on the second audit that
// finds it so (not the first: a claim is made a moment before its task is
// recorded as running); a claim of a task it runs is kept.
func TestAuditHandsBackOrphanClaims(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	lease := leaseVia(t, env, nil)
	w := offlineWorker(t, env, "p", lease)
	for _, task := range []string{"j/orphan/0", "j/running/0"} {
		if _, err := lease.Claim(ctx, task, cluster.ClaimValue{Worker: "w", Attempt: 1, Job: "j", Pool: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	w.inflight["j/running/0"] = &running{job: "j"}
	claimed := func(task string) bool {
		t.Helper()
		resp, err := env.Conn.Etcd.Get(ctx, cluster.ClaimKey(task))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count == 1
	}

	suspects := w.auditOnce(ctx, nil)
	if len(suspects) != 1 || !claimed("j/orphan/0") {
		t.Fatalf("after the first audit: suspects %v, orphan claimed %v; want it suspected and still claimed", suspects, claimed("j/orphan/0"))
	}
	suspects = w.auditOnce(ctx, suspects)
	if claimed("j/orphan/0") {
		t.Error("the orphan claim survived a second audit")
	}
	if !claimed("j/running/0") {
		t.Error("the claim of a running task was handed back")
	}
	if len(suspects) != 0 {
		t.Errorf("suspects after the hand-back: %v", suspects)
	}
}
