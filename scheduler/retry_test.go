package scheduler

import (
	"strings"
	"testing"
)

func TestRetryDecide(t *testing.T) {
	tests := []struct {
		name        string
		policy      RetryPolicy
		attempt     int
		wantAction  Action
		wantAttempt int
		wantReason  string
	}{
		{"first failure", RetryPolicy{}, 1, ActionRedeliver, 2, "attempt 1 ended: lease expired"},
		{"second failure", RetryPolicy{}, 2, ActionRedeliver, 3, "attempt 2 ended"},
		{"budget spent", RetryPolicy{}, 3, ActionDeadLetter, 3, "retry budget spent: attempt 3 of 3"},
		{"zero attempt counts as first", RetryPolicy{}, 0, ActionRedeliver, 2, "attempt 1"},
		{"budget of one", RetryPolicy{MaxAttempts: 1}, 1, ActionDeadLetter, 1, "of 1"},
		{"large budget", RetryPolicy{MaxAttempts: 10}, 9, ActionRedeliver, 10, "attempt 9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.policy.Decide(Claim{Task: "t", Worker: "w", Attempt: tc.attempt}, "lease expired")
			if d.Action != tc.wantAction || d.Attempt != tc.wantAttempt || !strings.Contains(d.Reason, tc.wantReason) {
				t.Errorf("Decide = %v attempt %d %q; want %v attempt %d reason containing %q",
					d.Action, d.Attempt, d.Reason, tc.wantAction, tc.wantAttempt, tc.wantReason)
			}
		})
	}
}

func TestRequeueWorker(t *testing.T) {
	claims := []Claim{
		{Task: "t1", Worker: "dead", Attempt: 1},
		{Task: "t2", Worker: "dead", Attempt: 3},
		{Task: "t3", Worker: "dead", Attempt: 1}, // done: result in, claim not yet released
		{Task: "t4", Worker: "alive", Attempt: 1},
	}
	done := func(task string) bool { return task == "t3" }
	got := RetryPolicy{}.RequeueWorker("dead", claims, done, "lease expired")
	want := []struct {
		task    string
		action  Action
		attempt int
	}{{"t1", ActionRedeliver, 2}, {"t2", ActionDeadLetter, 3}}
	if len(got) != len(want) {
		t.Fatalf("decisions = %+v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Claim.Task != w.task || got[i].Action != w.action || got[i].Attempt != w.attempt {
			t.Errorf("decision %d = %s %v %d, want %s %v %d", i, got[i].Claim.Task, got[i].Action, got[i].Attempt, w.task, w.action, w.attempt)
		}
	}
}
