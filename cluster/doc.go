// Package cluster wires hintfleet to NATS JetStream and etcd: the subject,
// stream, consumer, bucket and key layout (layout.go, the one place names are
// made), embedded servers for the single-node default, connection options for
// external clusters, and the worker lease with its fenced claims.
//
// # Who holds what
//
// JetStream carries data: task attempts in TASKS (work queue), trajectories in
// RESULTS, partial trajectories in the CHECKPOINTS KV bucket. etcd holds
// small, strongly consistent facts: which workers are alive (keys bound to a
// lease), which worker runs which task attempt (claims bound to the same
// lease), which tasks are done, which attempt is current, the job registry
// and the coordinator election.
//
// # Durability
//
// All streams use file storage. A single node (StartEmbedded) sets
// SyncAlways, so every acked write is on disk: with one replica there is no
// other copy. Production clusters run three NATS servers and StreamOptions
// Replicas: 3, so an acked write is on a quorum. Neither is left to the
// default: Jepsen found NATS 2.12.1 losing acked writes under the default
// two-minute fsync interval when nodes crashed together. etcd fsyncs its WAL
// by default; hintfleet never sets unsafe-no-fsync.
//
// # Exactly once
//
// Publishing is at-least-once and deduplicated: tasks carry Nats-Msg-Id
// TaskMsgID(task, attempt), results ResultMsgID(task). Execution is fenced
// by claims: Lease.Claim succeeds for one session only, refuses a task whose
// done marker exists and refuses a delivery older than the attempt recorded
// by the requeuer. A worker that finishes publishes its result, waits for the
// ack, then calls Release with done, which writes the done marker and deletes
// the claim in one transaction; any other deletion of a claim (lease expiry,
// a hand-back on drain) means the task needs another attempt, which is what
// the coordinator watches for and hands to scheduler.Requeuer.
package cluster
