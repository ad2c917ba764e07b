// Package scheduler makes hintfleet's placement and recovery decisions: which
// pool a task belongs to, which worker should take it, which job dispatches
// next, and what happens to a task whose worker died. The decisions are pure
// and table-tested, in the manner of Nomad's scheduler: logic sees workers
// and tasks only through the small types it declares (Worker, Task, JobShare,
// Claim, Event), and effects go through the Planner interface, which the
// coordinator implements and Harness records in tests. The package does no
// I/O and imports neither etcd nor NATS: the coordinator watches etcd and
// feeds the Requeuer Events, keeps the Ledger, and names the subjects.
//
// # Pools
//
// A worker serves the model of the engine beside it; its pool is
// PoolFor(model). A task goes to the pool of its job's model, and a task that
// names an engine kind only to workers advertising it (EngineMatch).
//
// # Placement with pull consumers
//
// Workers pull from JetStream; nobody pushes to them. Placement is therefore
// realised by subjects, which the coordinator names (package cluster):
//
//	hintfleet.tasks.<pool>.<job>               shared: consumer workers-<pool>, every worker of the pool pulls it
//	hintfleet.tasks.<pool>.w.<worker>.<job>    affine: consumer worker-<pool>-<worker>, only that worker pulls it
//
// The two filters never overlap, as a work-queue stream requires. Each worker
// pulls its own subject first and the shared one when that is empty.
//
// For each task the dispatcher asks Stack.Place. Filters (Nomad's
// FeasibleIterator) drop workers that are dead, of another pool, missing the
// engine, draining or at capacity. Rankers (Nomad's RankIterator) score the
// rest: AffinityRank gives a large bonus to the rendezvous-hash (HRW) winner
// of the task's problem, so the k samples of one problem meet the same
// engine's prefix cache, but only while that worker holds no more than Slack
// tasks above the least-loaded candidate; LoadRank prefers low utilisation.
// The coordinator then routes an affine placement to the worker's own
// subject, and anything else to the shared subject, where whichever worker frees first
// takes it. So affinity yields to load and liveness by construction: a dead,
// draining or full worker is filtered before affinity is considered, and a
// hot problem spills over to the shared subject instead of queueing ever
// deeper behind one saturated engine (the "death spiral").
//
// Worker.InFlight must count what is routed to a worker's own subject and not
// yet claimed, not only its claims, or a burst would overfill it. If a worker
// dies with tasks still waiting on its own subject, the Requeuer reports it
// through Planner.WorkerGone and the coordinator moves them to the shared
// subject.
//
// # Fair share
//
// FairShare picks the job whose task is dispatched next: strict priority
// classes, stride scheduling by weight within a class, an optional per-job
// in-flight cap. Idle jobs re-enter at the class's virtual time and bank no
// credit.
//
// # Requeue, retry budget, dead letters
//
// A worker claims a task attempt in etcd (cluster.Lease.Claim) bound to its
// lease. When it finishes it publishes the result, waits for the ack, then
// releases with done: the done marker and the claim's deletion are one
// transaction. Any other deletion of a claim means the attempt ended without
// a result: the lease expired (crash, partition, stall) or the worker handed
// the task back (drain). The coordinator watches /hintfleet/claims/ for
// deletions with their previous values and feeds each to the Requeuer as an
// Event (Events); the Requeuer skips tasks the Ledger reports done, and asks
// RetryPolicy: attempt+1 goes to Planner.Redeliver, which republishes on the
// shared subject with Nats-Msg-Id <task>.a<attempt> and terminates the old
// delivery; once MaxAttempts attempts have ended, Planner.DeadLetter records
// the task with the reason and the Ledger records it done. The attempt is
// then recorded in the Ledger by compare-and-swap (in etcd, the attempts key
// /hintfleet/attempts/<task>):
// claims of older attempts fail (cluster.ErrStaleAttempt), so a copy that
// JetStream redelivers after AckWait is dropped, and a second requeuer
// (leadership change) plans nothing twice.
//
// The requeue happens within the lease TTL plus etcd's expiry tick, not after
// AckWait. AckWait stays as the backstop for deletions no requeuer saw
// (none running, watch history compacted).
package scheduler
