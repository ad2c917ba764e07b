// Package coordinator runs hintfleet jobs: it accepts a job (a spec and its
// problems), shards it into tasks (problem × sample), publishes them to the
// workers' pools through JetStream, takes the results in, writes each job's
// output (DataDir/jobs/<id>/trajectories.jsonl and dead_letters.jsonl) and
// serves an HTTP API (Handler, Client). Replicas elect one leader through
// etcd (concurrency.Election under cluster.ElectionPrefix); only the leader
// dispatches, takes results, requeues and accepts writes. A standby answers
// reads from the registry and the shared files, and writes with 503 and the
// leader's address in HeaderLeader (Client retries there once).
//
// # Exactly once
//
// Every task ends exactly once: one line in trajectories.jsonl, or one in
// dead_letters.jsonl with a reason. Four mechanisms, each covering the
// previous one's gap:
//
//  1. Publishing is at-least-once and deduplicated by JetStream: a task
//     attempt carries Nats-Msg-Id cluster.TaskMsgID(task, attempt), a result
//     cluster.ResultMsgID(task). A republish after a leader change, or a
//     second worker's result within the duplicate window, is dropped by the
//     stream itself.
//  2. Execution is fenced by etcd claims (cluster.Lease.Claim): one live
//     worker runs an attempt; a copy that cannot be claimed (claimed, done,
//     stale attempt) is acked and dropped. A worker that dies loses its
//     lease and so its claims; the leader watches the deletions (requeue.go)
//     and feeds them to the scheduler's Requeuer, which decides, and the
//     planner here republishes attempt+1 (within
//     the lease TTL plus about a second) or dead-letters the task once the
//     retry budget is spent. The requeuer's revision is saved in etcd, so a
//     new leader misses no deletion that happened between leaders. A task
//     never claimed has no claim to end (its worker died between fetch and
//     claim, its claim never reached etcd): the reconciler (reconcile.go)
//     finds what was dispatched and is neither claimed nor done while
//     nothing waits undelivered in its pool, and hands it to the requeuer
//     after half the workers' lease TTL, so no task waits for AckWait.
//  3. The intake keeps a done set per job: the task ids found in either
//     output file. The first result of a task is written; any later one (a
//     fenced-off worker's late result, a copy older than the duplicate
//     window, a result for a dead-lettered task) is dropped and counted in
//     hintfleet_results_dropped_total{reason="duplicate"}.
//  4. Results are acked only after their lines are fsync'd. A crash between
//     write and ack redelivers them; the new leader rebuilds the done set
//     from the files and drops the copies. A failed fsync ends the term
//     (the files, not memory, are the truth).
//
// The done set lives only in the output files, by choice: a marker kept
// elsewhere (etcd, a KV bucket) would be written before or after the line,
// and either order has a crash window where the two disagree. The files
// therefore must move with the leader: one folder on a single node, a
// shared volume (ReadWriteMany) between replicas in a cluster. The etcd
// done markers (cluster.DoneKey) are the workers' fence against running a
// finished task again, not the output's dedupe. They and the attempt counts
// are deleted in the transaction that writes the job's terminal record
// (cluster.JobDonePrefix), so etcd holds them only for running jobs and a
// finished job leaves its registry entry alone.
//
// A result that does not parse is dead-lettered with the reason, attributed
// through its Hintfleet-Job and Hintfleet-Task headers; one that names no
// live job's task goes to DataDir/dead_letters.jsonl. Nothing is dropped
// without a log line and a counter.
//
// # Jobs
//
// A spec is decoded strictly (DecodeSpec: unknown fields, types and trailing
// data are errors naming the line and field) and validated (Validate), and
// its problems are read in full before anything is created: one bad line
// refuses the job with file:line: field. The job's registry entry
// (cluster.JobKey) is the commit point; the normalised problems are saved
// beside the output so a new leader dispatches and redelivers from the same
// list. Counts in the registry are progress for readers, written every half
// second; the files are the truth.
//
// The dispatcher publishes lazily: while fewer than Config.MaxOutstanding
// tasks are out, it picks a job by priority and weighted fair share
// (scheduler.FairShare) and publishes its next batch asynchronously with a
// bounded window of unacknowledged publishes (flow control). Cancel marks
// the job, purges its waiting tasks (cluster.JobTaskSubjects), and workers
// stop its running tasks (they watch the registry); late results of a
// cancelled job are dropped.
//
// # Prefix-cache affinity
//
// With Config.Affinity the dispatcher places each task with
// scheduler.Stack (HRW affinity on the problem id, yielding to load) over
// the live registrations, counting as a worker's load its claims plus the
// tasks waiting on its own subject, and publishes an affine placement to
// the worker's own subject (cluster.WorkerTaskSubject), anything else to
// the shared one. A worker may hold AffinityBacklog tasks beyond its
// capacity there, so the k samples of a problem wait for the engine that
// has its prefix cached; dispatch is held to the fleet's free capacity, so
// placement happens when a worker can take the task. Affinity yields to
// liveness: the leader sweeps the own subjects every tick and on
// Planner.WorkerGone, and moves what waits on a gone, draining or
// unhealthy worker's subject to the shared one (cluster.MovedTaskMsgID;
// a gone worker's consumer is reset first, so tasks it fetched and never
// claimed come back too). Redeliveries always go to the shared subject.
// Against engine/sim, 16 problems × 4 samples on 4 workers, the engines'
// prefix-cache hit rate is 0.45–0.54 with affinity and 0.21–0.36 without
// (TestPrefixCacheAffinity prints the BENCH lines).
//
// # Security
//
// WithAuth puts every route but /healthz behind a credential with a Role:
// a bearer token (Auth.Tokens, from a 0600 file, LoadTokensFile, checked
// against every configured token by SHA-256 digest in constant time) or a
// client certificate verified by WithTLS's ClientCAs whose CN or SAN is in
// Auth.CertRoles. read: jobs, trajectories, dead letters (and /metrics
// unless Auth.MetricsOpen); submit: also POST /v1/jobs; admin: also
// DELETE and /v1/workers. No credential or an unknown one is 401, a role
// too low 403, both with the JSON error body of every refusal.
//
// No file path from the network opens anything by default: a job names a
// dataset (trajectory.DatasetNames) or carries problems_jsonl. problems_path
// works only with Config.ProblemsDir, and then only for a local path inside
// it, opened through an os.Root (no `..`, no symlink out), a regular file
// (not a FIFO, not a device), at most MaxProblemsFileBytes, read under the
// request's context; errors name the field and the caller's path, never
// the file's content. Bodies are capped (MaxBodyBytes, 64 MiB) while they
// are decoded (DecodeSpecFrom on an http.MaxBytesReader), problems ×
// samples is checked against MaxTasksPerJob without overflowing, and the
// server (Serve) has header, read and idle timeouts and a write deadline
// on every route but the trajectories stream (HTTPTimeouts).
//
// # Fencing
//
// Local belief ("I lead") never suffices for a write. A term is the
// replica's election key and its create revision (fence.go). Registry
// writes — job records, the requeuer's attempt records and saved
// revision — are etcd transactions comparing that revision, so a leader
// whose election lease expired (frozen, partitioned past ElectionTTL) is
// refused by etcd itself. The output files are fenced by a token in
// DataDir/term (TermFile) that a new leader bumps to its revision before
// it reads them; every append checks it, and a leader that finds a newer
// term appends nothing. A refused write (ErrFenced, counted in
// hintfleet_writes_fenced_total) ends the term. What no writer-side check
// covers is a process frozen between the check and its write(2), one
// system call.
//
// The files move with the leader only if every replica uses the same
// DataDir: Run first checks that DataDir holds the id registered in etcd
// (DataIDFile, cluster.DataIDKey; the first replica registers its own)
// and refuses with ErrDataDir otherwise.
//
// # Not yet
//
// Affinity is off by default until the chaos suite covers it.
package coordinator
