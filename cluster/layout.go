package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// This file is the one place that names NATS subjects, streams, consumers, KV
// buckets and etcd keys. Other packages build names only through it, so a
// rename is one edit and the layout can be read in one sitting.

// Subject roots and stream names.
const (
	// StreamTasks holds work: one message per task attempt, removed on ack
	// (work-queue retention), so the stream size is the backlog.
	StreamTasks = "TASKS"
	// StreamResults holds finished trajectories until the coordinator's result
	// intake has written and acked them.
	StreamResults = "RESULTS"
	// BucketCheckpoints is the KV bucket of partial trajectories, keyed by
	// task, so a retry resumes where a dead worker stopped.
	BucketCheckpoints = "CHECKPOINTS"

	tasksRoot   = "hintfleet.tasks"
	resultsRoot = "hintfleet.results"
	// workerToken separates per-worker task subjects from job subjects:
	// hintfleet.tasks.<pool>.<job> has four tokens, the per-worker subject
	// hintfleet.tasks.<pool>.w.<worker>.<job> has six, so the two consumer
	// filters never overlap (a work-queue stream requires that).
	workerToken = "w"
)

// etcd key prefixes. Values are JSON unless noted.
const (
	KeyPrefix         = "/hintfleet/"
	WorkersPrefix     = KeyPrefix + "workers/"  // <id> → WorkerInfo, bound to the worker's lease
	ClaimsPrefix      = KeyPrefix + "claims/"   // <task> → ClaimValue, bound to the worker's lease
	DonePrefix        = KeyPrefix + "done/"     // <task> → "1" or "dead-letter"; written with the release of a finished claim, deleted with the job (JobDonePrefix)
	AttemptsPrefix    = KeyPrefix + "attempts/" // <task> → decimal attempt number, written by the requeuer, deleted with the job
	JobsPrefix        = KeyPrefix + "jobs/"     // <id> → job registry entry (owned by coordinator)
	ElectionPrefix    = KeyPrefix + "election/coordinator"
	dedupeSuffixSep   = "."
	msgIDAttemptToken = "a"
)

// Token escapes s for use as one NATS subject token, a consumer name, a KV key
// or an etcd key segment. Letters, digits, '-' and '_' pass through; every other
// byte becomes "=XX" (hex), which all four namespaces accept. The escape is
// reversible, so "a.b" and "a_b" stay distinct.
func Token(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	if b.Len() == 0 {
		return "=00" // an empty token is invalid everywhere; keep it distinct
	}
	return b.String()
}

// TaskSubject is the shared subject of a pool: any worker of the pool may pull
// a task published here.
func TaskSubject(pool, job string) string {
	return tasksRoot + "." + Token(pool) + "." + Token(job)
}

// WorkerTaskSubject is the affine subject of one worker: only that worker's
// consumer pulls it. The scheduler publishes here when prefix-cache affinity
// holds and the worker is live and under capacity.
func WorkerTaskSubject(pool, worker, job string) string {
	return tasksRoot + "." + Token(pool) + "." + workerToken + "." + Token(worker) + "." + Token(job)
}

// ResultSubject is where a worker publishes the trajectory of a task of job.
func ResultSubject(job string) string { return resultsRoot + "." + Token(job) }

// PoolConsumer names the durable pull consumer shared by the workers of pool.
func PoolConsumer(pool string) string { return "workers-" + Token(pool) }

// WorkerConsumer names the durable pull consumer of one worker's affine subject.
func WorkerConsumer(pool, worker string) string {
	return "worker-" + Token(pool) + "-" + Token(worker)
}

// TaskMsgID is the Nats-Msg-Id of one attempt of a task. Including the attempt
// lets the requeuer publish attempt n+1 while the duplicate window still holds
// attempt n, and makes a repeated publish of the same attempt a no-op.
func TaskMsgID(task string, attempt int) string {
	return task + dedupeSuffixSep + msgIDAttemptToken + fmt.Sprint(attempt)
}

// MovedTaskMsgID is the Nats-Msg-Id of a task attempt moved from a worker's
// own subject to its pool's shared subject (the worker died, drains or is
// unhealthy). It differs from TaskMsgID so the stream does not drop the
// move as a duplicate of the first publish; the claim fence drops whichever
// copy of the attempt loses.
func MovedTaskMsgID(task string, attempt int) string {
	return TaskMsgID(task, attempt) + dedupeSuffixSep + "moved"
}

// ResultMsgID is the Nats-Msg-Id of a task's result: the task id alone, so a
// late result from a fenced-off worker is dropped by the stream.
func ResultMsgID(task string) string { return task }

// CheckpointsStream is the stream that backs the CHECKPOINTS bucket; the
// worker purges a task's entries from it by subject.
const CheckpointsStream = "KV_" + BucketCheckpoints

// CheckpointKey is the CHECKPOINTS key of one entry of a task's checkpoint
// log: the n-th delta saved by one writer (an attempt's random id). A task's
// log is every key under CheckpointFilter, applied in revision order.
func CheckpointKey(task, writer, n string) string {
	return Token(task) + "." + Token(writer) + "." + Token(n)
}

// CheckpointFilter matches every key of a task's checkpoint log.
func CheckpointFilter(task string) string { return Token(task) + ".>" }

// CheckpointSubjects is the stream subject filter of a task's checkpoint
// log, for purging it in one request.
func CheckpointSubjects(task string) string {
	return "$KV." + BucketCheckpoints + "." + CheckpointFilter(task)
}

// WorkerKey, ClaimKey, DoneKey, AttemptsKey and JobKey name etcd keys.
func WorkerKey(id string) string     { return WorkersPrefix + Token(id) }
func ClaimKey(task string) string    { return ClaimsPrefix + Token(task) }
func DoneKey(task string) string     { return DonePrefix + Token(task) }
func AttemptsKey(task string) string { return AttemptsPrefix + Token(task) }

// JobDonePrefix and JobAttemptsPrefix hold the done markers and attempt
// counts of every task of job: a task id is "<job>/<problem>/<sample>", and
// Token escapes byte by byte, so the escaped id starts with the escaped
// "<job>/" (job ids hold no '/', so no job's prefix covers another's). The
// coordinator deletes both ranges when the job ends, so that
// etcd holds these keys only for jobs still running, and a finished job
// leaves its registry entry alone.
func JobDonePrefix(job string) string     { return DonePrefix + Token(job+"/") }
func JobAttemptsPrefix(job string) string { return AttemptsPrefix + Token(job+"/") }

// JobClaimsPrefix holds the claims of every task of job, for the same
// deletion.
func JobClaimsPrefix(job string) string { return ClaimsPrefix + Token(job+"/") }
func JobKey(id string) string           { return JobsPrefix + Token(id) }

// Default stream settings. Named so the defaults live in one place.
const (
	DefaultDuplicateWindow = 2 * time.Hour
	DefaultAckWait         = 30 * time.Minute
	DefaultMaxDeliver      = 10
	DefaultMaxAckPending   = 1 << 20
	DefaultCheckpointTTL   = 24 * time.Hour
	DefaultResultsMaxAge   = 7 * 24 * time.Hour
)

// StreamOptions tunes EnsureStreams. The zero value fits the servers it
// meets: one replica on a single server, three on a cluster (AutoReplicas),
// and the Default* durations above.
type StreamOptions struct {
	// Replicas is 1 for a single server and 3 for a production cluster,
	// where R3 is what keeps an acked write through the loss of a node.
	// Zero lets EnsureStreams choose (AutoReplicas).
	Replicas int
	// DuplicateWindow bounds how long Nats-Msg-Id dedupe remembers an id. It
	// must exceed the longest gap between a publish and its retry.
	DuplicateWindow time.Duration
	// CheckpointTTL bounds how long a partial trajectory is kept.
	CheckpointTTL time.Duration
	// ResultsMaxAge bounds how long unconsumed results are kept.
	ResultsMaxAge time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	if o.CheckpointTTL == 0 {
		o.CheckpointTTL = DefaultCheckpointTTL
	}
	if o.ResultsMaxAge == 0 {
		o.ResultsMaxAge = DefaultResultsMaxAge
	}
	return o
}

// TasksStream is the TASKS stream config: file storage, work-queue retention
// (a message leaves the stream once acked), dedupe on Nats-Msg-Id.
func TasksStream(o StreamOptions) jetstream.StreamConfig {
	o = o.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamTasks,
		Description: "hintfleet task attempts; work queue, removed on ack",
		Subjects:    []string{tasksRoot + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  o.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
}

// ResultsStream is the RESULTS stream config: file storage, limits retention
// (results stay until MaxAge even after intake, so a coordinator that lost its
// output file can replay), dedupe on the task id.
func ResultsStream(o StreamOptions) jetstream.StreamConfig {
	o = o.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamResults,
		Description: "hintfleet trajectories; deduplicated by task id",
		Subjects:    []string{resultsRoot + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  o.DuplicateWindow,
		MaxAge:      o.ResultsMaxAge,
	}
}

// CheckpointsBucket is the CHECKPOINTS KV config: file storage, one revision
// per key (only the latest partial trajectory matters), TTL.
func CheckpointsBucket(o StreamOptions) jetstream.KeyValueConfig {
	o = o.withDefaults()
	return jetstream.KeyValueConfig{
		Bucket:      BucketCheckpoints,
		Description: "hintfleet partial trajectories by task",
		History:     1,
		TTL:         o.CheckpointTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}
}

// ConsumerOptions tunes the pull consumers. Zero fields take the defaults.
type ConsumerOptions struct {
	// AckWait is JetStream's own redelivery backstop. It is long on purpose:
	// a generation may run for many minutes, and a dead worker's tasks are
	// requeued by the scheduler's Requeuer on lease expiry, not by AckWait.
	AckWait time.Duration
	// MaxDeliver caps JetStream redeliveries of one message.
	MaxDeliver int
	// MaxAckPending caps unacked messages across the consumer's pullers. A
	// worker acks a task when it ends, so on the pool's shared consumer this
	// caps the sessions running in the whole pool: the default (2^20) is
	// far above any fleet, since the coordinator's MaxOutstanding is the
	// cap meant for dispatch. (It was 1024, which held a fleet of 100
	// workers × 64 sessions to 1024 running; make scale found it.)
	MaxAckPending int
}

func (o ConsumerOptions) withDefaults() ConsumerOptions {
	if o.AckWait == 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxDeliver == 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.MaxAckPending == 0 {
		o.MaxAckPending = DefaultMaxAckPending
	}
	return o
}

// PoolConsumerConfig is the durable pull consumer shared by a pool's workers,
// filtered to the pool's job subjects (not the per-worker ones).
func PoolConsumerConfig(pool string, o ConsumerOptions) jetstream.ConsumerConfig {
	o = o.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       PoolConsumer(pool),
		FilterSubject: tasksRoot + "." + Token(pool) + ".*",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    o.MaxDeliver,
		MaxAckPending: o.MaxAckPending,
	}
}

// WorkerConsumerConfig is the durable pull consumer of one worker's affine
// subject. MaxAckPending is the worker's capacity: the scheduler never routes
// more than that to it.
func WorkerConsumerConfig(pool, worker string, o ConsumerOptions) jetstream.ConsumerConfig {
	o = o.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       WorkerConsumer(pool, worker),
		FilterSubject: tasksRoot + "." + Token(pool) + "." + workerToken + "." + Token(worker) + ".*",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    o.MaxDeliver,
		MaxAckPending: o.MaxAckPending,
	}
}

// EnsureStreams creates TASKS, RESULTS and CHECKPOINTS, or updates those
// whose configuration differs from the layout. It is idempotent, so every
// coordinator calls it at start.
//
// A stream whose configuration already matches is left alone: creating it
// again is a read on the server, where an update (what nats.go's
// CreateOrUpdate* always sends) rewrites the stream's configuration while
// workers may be creating consumers on it. nats-server v2.15.2 reads that
// configuration without its lock when it adds a consumer
// (fileStore.ConsumerStore against fileStore.UpdateConfig), a data race the
// race detector found in CI when a coordinator started beside a worker.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	if o.Replicas == 0 {
		o.Replicas = AutoReplicas(js.Conn())
	}
	for _, cfg := range []jetstream.StreamConfig{TasksStream(o), ResultsStream(o)} {
		_, err := js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			_, err = js.UpdateStream(ctx, cfg)
		}
		if err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	_, err := js.CreateKeyValue(ctx, CheckpointsBucket(o))
	if errors.Is(err, jetstream.ErrBucketExists) {
		_, err = js.UpdateKeyValue(ctx, CheckpointsBucket(o))
	}
	if err != nil {
		return fmt.Errorf("ensure kv bucket %s: %w", BucketCheckpoints, err)
	}
	return nil
}

// AutoReplicas is the replica count for streams on the servers nc is
// connected to: 1 on a server that is not clustered, else the cluster's
// size as the client knows it (the URLs it was given and those the servers
// told it of) up to 3. R3 keeps every acked write through the loss of any
// one node; more replicas only slow every write.
func AutoReplicas(nc *nats.Conn) int {
	if nc == nil || nc.ConnectedClusterName() == "" {
		return 1
	}
	return min(max(len(nc.Servers()), 1), 3)
}

// EnsurePoolConsumer creates or updates the shared consumer of pool.
func EnsurePoolConsumer(ctx context.Context, js jetstream.JetStream, pool string, o ConsumerOptions) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, StreamTasks, PoolConsumerConfig(pool, o))
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s: %w", PoolConsumer(pool), err)
	}
	return c, nil
}

// EnsureWorkerConsumer creates or updates one worker's affine consumer.
func EnsureWorkerConsumer(ctx context.Context, js jetstream.JetStream, pool, worker string, o ConsumerOptions) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, StreamTasks, WorkerConsumerConfig(pool, worker, o))
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s: %w", WorkerConsumer(pool, worker), err)
	}
	return c, nil
}

// Names used by the coordinator's result intake, cancel and requeuer
// hand-over. Added for the coordinator; everything above is unchanged.

// ResultsConsumer names the durable pull consumer of the coordinator's
// result intake. There is one for all replicas: only the leader pulls.
const ResultsConsumer = "coordinator-results"

// RequeuerRevisionKey holds the last etcd revision the leader's requeuer
// handled (decimal), so that a new leader's requeuer resumes after it and
// misses no claim deletion that happened between leaders.
const RequeuerRevisionKey = KeyPrefix + "coordinator/requeuer-revision"

// DataIDKey holds the id of the output folder (--data) the fleet's
// coordinator replicas share; a replica whose folder holds another id (or
// none) refuses to lead, so replicas on separate disks never split a job's
// output.
const DataIDKey = KeyPrefix + "coordinator/data-id"

// ResultsConsumerConfig is the durable pull consumer of every job's results.
// AckWait bounds how long a result may sit written-but-unacked before
// JetStream redelivers it; the intake's dedupe drops the second copy.
func ResultsConsumerConfig(o ConsumerOptions) jetstream.ConsumerConfig {
	o = o.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       ResultsConsumer,
		FilterSubject: resultsRoot + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    -1, // a result is never given up on: it is the output
		MaxAckPending: o.MaxAckPending,
	}
}

// JobTaskSubjects are the subject filters that match every pending task of
// job, on shared and per-worker subjects of any pool: cancel purges them.
func JobTaskSubjects(job string) []string {
	return []string{
		tasksRoot + ".*." + Token(job),
		tasksRoot + ".*." + workerToken + ".*." + Token(job),
	}
}
