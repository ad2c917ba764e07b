package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
)

// A task's checkpoint is a log of deltas in the CHECKPOINTS bucket, one key
// per save (cluster.CheckpointKey), not one key rewritten with the whole log:
// a save writes only what is new since the bucket last took one, so the
// bytes written per task stay close to the bytes of its trajectory instead
// of growing with the square of its length (a 32k-token trajectory saved
// every 5 s used to rewrite up to ~130 KB each time). When the task ends the
// log is compacted: a published result removes it (one purge by subject);
// a task handed back gets one entry holding the whole log, and the deltas
// before it are purged, so the next attempt reads one entry.
//
// Every delta says where it applies in absolute terms (how many requests and
// tool calls of the log so far it keeps, and how much of the kept request's
// text it continues from), so applying the deltas in the order the bucket
// took them (their revisions) rebuilds the log even when a write whose
// answer was lost landed after all, or a fenced-off attempt wrote late. A
// delta that does not fit the log before it ends the chain: the prefix
// rebuilt so far is a valid log, and replay goes live from there.

// checkpointDelta is one save. JSON names are short: a delta is written
// every CheckpointEvery for every running task, and for a slowly streaming
// request its overhead is a noticeable part of it.
type checkpointDelta struct {
	// Req is how many requests of the log before it the delta keeps; with
	// Continue, the last kept one is continued by Requests[0]: its text
	// cut to TextKeep bytes and Requests[0].Text appended, its other fields
	// replaced.
	Req      int  `json:"r"`
	Continue bool `json:"c,omitempty"`
	TextKeep int  `json:"k,omitempty"`
	// Tools is how many tool calls of the log before it the delta keeps.
	Tools     int               `json:"t"`
	Requests  []RecordedRequest `json:"q,omitempty"`
	ToolCalls []RecordedTool    `json:"u,omitempty"`
	// Attempt and Worker say who wrote it, for operators reading the
	// bucket; only a writer's first entry and a compaction carry them.
	Attempt int    `json:"a,omitempty"`
	Worker  string `json:"w,omitempty"`
}

// errBrokenChain means a delta does not fit the log rebuilt before it.
var errBrokenChain = errors.New("checkpoint delta does not fit the log before it")

// apply adds d to cp.
func (cp *Checkpoint) apply(d checkpointDelta) error {
	keep := d.Req
	if d.Continue {
		keep--
	}
	if keep < 0 || d.Req > len(cp.Requests) || d.Tools < 0 || d.Tools > len(cp.Tools) || (d.Continue && len(d.Requests) == 0) {
		return errBrokenChain
	}
	reqs := d.Requests
	var old RecordedRequest
	if d.Continue {
		old = cp.Requests[keep]
	}
	cp.Requests = cp.Requests[:keep]
	if d.Continue {
		if d.TextKeep < 0 || d.TextKeep > len(old.Text) {
			return errBrokenChain
		}
		next := reqs[0]
		next.PromptSHA256 = old.PromptSHA256
		next.Text = old.Text[:d.TextKeep] + next.Text
		cp.Requests = append(cp.Requests, next)
		reqs = reqs[1:]
	}
	cp.Requests = append(cp.Requests, reqs...)
	cp.Tools = append(cp.Tools[:d.Tools], d.ToolCalls...)
	return nil
}

// diff is the delta that turns stored into cur; ok is false when there is
// nothing to write: cur is stored, or a prefix of it (a resumed attempt
// replaying the log it read has nothing new yet, and must not cut the log
// short of what the next attempt could replay).
func diff(stored, cur Checkpoint) (d checkpointDelta, ok bool) {
	n := commonPrefix(stored.Requests, cur.Requests)
	t := commonPrefix(stored.Tools, cur.Tools)
	if n == len(cur.Requests) && t == len(cur.Tools) {
		return d, false
	}
	d = checkpointDelta{Req: n, Tools: t, Requests: cur.Requests[n:], ToolCalls: cur.Tools[t:]}
	if n < len(stored.Requests) && n < len(cur.Requests) {
		s, c := stored.Requests[n], cur.Requests[n]
		if s.PromptSHA256 == c.PromptSHA256 && strings.HasPrefix(c.Text, s.Text) {
			// The request streamed on (or closed) since the last save.
			c.PromptSHA256, c.Text = "", c.Text[len(s.Text):]
			d.Req, d.Continue, d.TextKeep = n+1, true, len(s.Text)
			d.Requests = append([]RecordedRequest{c}, cur.Requests[n+1:]...)
		}
	}
	return d, true
}

func commonPrefix[T comparable](a, b []T) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func encodeDelta(d checkpointDelta) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // model text is full of < > &; \u003c triples them
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkpointStore is the CHECKPOINTS bucket as the worker uses it.
type checkpointStore struct {
	kv     jetstream.KeyValue
	stream jetstream.Stream // the bucket's stream, for purges by subject
	// written, when set, is told the bytes of every entry written.
	written func(n int)
}

func openCheckpoints(ctx context.Context, js jetstream.JetStream) (*checkpointStore, error) {
	kv, err := js.KeyValue(ctx, cluster.BucketCheckpoints)
	if err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", err)
	}
	st, err := js.Stream(ctx, cluster.CheckpointsStream)
	if err != nil {
		return nil, fmt.Errorf("open checkpoints stream: %w", err)
	}
	return &checkpointStore{kv: kv, stream: st}, nil
}

// load rebuilds task's log from its deltas; nil when there is none.
func (s *checkpointStore) load(ctx context.Context, task string) (*Checkpoint, error) {
	w, err := s.kv.Watch(ctx, cluster.CheckpointFilter(task), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read checkpoint of %s: %w", task, err)
	}
	defer func() { _ = w.Stop() }()
	var entries []jetstream.KeyValueEntry
read:
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read checkpoint of %s: %w", task, context.Cause(ctx))
		case e, open := <-w.Updates():
			if !open || e == nil { // nil: every current entry was sent
				break read
			}
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b jetstream.KeyValueEntry) int { return int(a.Revision()) - int(b.Revision()) })
	cp := Checkpoint{TaskID: task}
	for _, e := range entries {
		var d checkpointDelta
		if json.Unmarshal(e.Value(), &d) != nil || cp.apply(d) != nil {
			break // the prefix rebuilt so far is a valid log
		}
		if d.Worker != "" {
			cp.Attempt, cp.Worker = d.Attempt, d.Worker
		}
	}
	if len(cp.Requests) == 0 {
		return nil, nil
	}
	return &cp, nil
}

// remove deletes every entry of task (its result is published).
func (s *checkpointStore) remove(ctx context.Context, task string) error {
	if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(cluster.CheckpointSubjects(task))); err != nil {
		return fmt.Errorf("remove checkpoint of %s: %w", task, err)
	}
	return nil
}

// checkpointLog writes one attempt's deltas. Its keys carry a random writer
// id, so two writers of one task (a fenced-off attempt still running) never
// overwrite each other's entries. It is used by the one goroutine running
// the task.
type checkpointLog struct {
	store  *checkpointStore
	task   string
	writer string
	n      int
	// stored is what the bucket holds as far as this writer knows.
	stored Checkpoint
}

// log starts a writer for task whose bucket holds stored (nil: nothing).
func (s *checkpointStore) log(task string, stored *Checkpoint) *checkpointLog {
	var id [4]byte
	_, _ = rand.Read(id[:])
	l := &checkpointLog{store: s, task: task, writer: hex.EncodeToString(id[:])}
	if stored != nil {
		l.stored = clone(*stored)
	}
	return l
}

func clone(cp Checkpoint) Checkpoint {
	cp.Requests = slices.Clone(cp.Requests)
	cp.Tools = slices.Clone(cp.Tools)
	return cp
}

// save writes what cur adds to the stored log. A delta too large for one
// message (a huge tool output) is skipped: the log stops there, and a
// retry goes live from the last entry that fits.
func (l *checkpointLog) save(ctx context.Context, cur Checkpoint) error {
	d, ok := diff(l.stored, cur)
	if !ok {
		return nil
	}
	if l.n == 0 {
		d.Attempt, d.Worker = cur.Attempt, cur.Worker
	}
	_, err := l.put(ctx, d, cur)
	return err
}

// compact writes cur whole as one entry and purges the entries before it,
// so the next attempt reads one entry. Called when the task is handed back.
func (l *checkpointLog) compact(ctx context.Context, cur Checkpoint) error {
	if len(cur.Requests) == 0 {
		return nil
	}
	d := checkpointDelta{Requests: cur.Requests, ToolCalls: cur.Tools, Attempt: cur.Attempt, Worker: cur.Worker}
	rev, err := l.put(ctx, d, cur)
	if err != nil || rev == 0 {
		return err
	}
	err = l.store.stream.Purge(ctx, jetstream.WithPurgeSubject(cluster.CheckpointSubjects(l.task)), jetstream.WithPurgeSequence(rev))
	if err != nil {
		return fmt.Errorf("compact checkpoint of %s: %w", l.task, err)
	}
	return nil
}

// put writes d as the writer's next entry and records cur as stored; rev 0
// means d was too large and nothing was written.
func (l *checkpointLog) put(ctx context.Context, d checkpointDelta, cur Checkpoint) (uint64, error) {
	b, err := encodeDelta(d)
	if err != nil {
		return 0, fmt.Errorf("encode checkpoint of %s: %w", l.task, err)
	}
	if len(b) > maxCheckpointBytes {
		return 0, nil
	}
	key := cluster.CheckpointKey(l.task, l.writer, strconv.Itoa(l.n))
	rev, err := l.store.kv.Put(ctx, key, b)
	if err != nil {
		return 0, fmt.Errorf("save checkpoint of %s: %w", l.task, err)
	}
	l.n++
	l.stored = clone(cur)
	if l.store.written != nil {
		l.store.written(len(b))
	}
	return rev, nil
}
