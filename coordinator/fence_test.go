package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/trajectory"
)

// campaign wins the election for a new session and returns the session and
// the term's fence (the token in dir bumped to it).
func campaign(ctx context.Context, t *testing.T, cli *clientv3.Client, dir string) (*concurrency.Session, *term) {
	t.Helper()
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	el := concurrency.NewElection(sess, cluster.ElectionPrefix)
	if err := el.Campaign(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	tm, err := openTerm(dir, el.Key(), el.Rev())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tm.close() })
	return sess, tm
}

// TestOldTermWritesNothing: a leader whose election session expired (it was
// frozen or partitioned past the TTL) and whose successor has started
// still holds its term in memory. Every write it tries is refused with
// ErrFenced and leaves etcd and the output as the successor has them: the
// job record, the requeuer's attempt record and saved revision, a
// trajectory line, a dead letter; and it cannot take the output's token
// back.
func TestOldTermWritesNothing(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	cli := env.Conn.Etcd
	dir := t.TempDir()
	jobDir := filepath.Join(dir, "jobs", "j")

	oldSess, old := campaign(ctx, t, cli, dir)
	rec := Job{ID: "j", State: JobRunning, Counts: Counts{Tasks: 2}}
	if err := putJob(ctx, cli, old, rec, true); err != nil {
		t.Fatalf("the leading term's create: %v", err)
	}
	oldOut, err := openStore(jobDir, old.check)
	if err != nil {
		t.Fatal(err)
	}
	defer oldOut.close()
	if _, err := oldOut.appendTrajectory(&trajectory.Trajectory{TaskID: "j/p0/0", JobID: "j"}); err != nil {
		t.Fatalf("the leading term's append: %v", err)
	}
	if err := oldOut.sync(); err != nil {
		t.Fatal(err)
	}

	// The old leader's lease ends (what its election TTL does to a frozen
	// process), and a successor wins and bumps the token.
	if _, err := cli.Revoke(ctx, oldSess.Lease()); err != nil {
		t.Fatal(err)
	}
	_, cur := campaign(ctx, t, cli, dir)
	rec.Counts.Done = 1
	if err := putJob(ctx, cli, cur, rec, false); err != nil {
		t.Fatalf("successor's write: %v", err)
	}
	before := snapshot(ctx, t, cli, dir)

	stale := rec
	stale.State = JobFailed
	ledger := etcdLedger{cli: cli, fence: old}
	var savedRev int64
	c := &Coordinator{conn: &cluster.Conn{Etcd: cli}}
	c.metrics = newMetrics(c)
	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"job record", func() error { return putJob(ctx, cli, old, stale, false) }},
		{"new job", func() error { return putJob(ctx, cli, old, Job{ID: "j2"}, true) }},
		{"attempt record", func() error { return ledger.Record(ctx, "j/p1/0", 2, 0, false) }},
		{"dead-letter record", func() error { return ledger.Record(ctx, "j/p1/0", 3, 0, true) }},
		{"requeuer revision", func() error { return c.saveRevision(ctx, old, 99, &savedRev) }},
		{"trajectory line", func() error {
			_, err := oldOut.appendTrajectory(&trajectory.Trajectory{TaskID: "j/p1/0", JobID: "j"})
			return err
		}},
		{"dead letter line", func() error {
			_, err := oldOut.appendDeadLetter(DeadLetter{TaskID: "j/p1/0", JobID: "j", Reason: "stale"})
			return err
		}},
		{"token", func() error { return old.bump() }},
	} {
		if err := tc.write(); !errors.Is(err, ErrFenced) {
			t.Errorf("old term's %s: err %v, want ErrFenced", tc.name, err)
		}
	}
	if err := oldOut.sync(); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(ctx, t, cli, dir); after != before {
		t.Fatalf("the old term changed what the successor wrote:\nbefore %s\nafter  %s", before, after)
	}
	if err := cur.check(); err != nil {
		t.Fatalf("successor's token: %v", err)
	}
}

// snapshot is everything a leader writes, as one string: the keys under
// cluster.KeyPrefix but the election's, with their mod revisions, and the
// output files and token.
func snapshot(ctx context.Context, t *testing.T, cli *clientv3.Client, dir string) string {
	t.Helper()
	resp, err := cli.Get(ctx, cluster.KeyPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range resp.Kvs {
		if !strings.HasPrefix(string(kv.Key), cluster.ElectionPrefix) {
			fmt.Fprintf(&b, "%s@%d=%s\n", kv.Key, kv.ModRevision, kv.Value)
		}
	}
	for _, f := range []string{TermFile, "jobs/j/" + TrajectoriesFile, "jobs/j/" + DeadLettersFile} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s", f, data)
	}
	return b.String()
}
