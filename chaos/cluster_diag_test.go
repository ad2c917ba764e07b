package chaos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// diagnose logs, for a job that did not end, each task missing from its
// output with what the cluster holds of it: a claim (whose, which attempt),
// a done marker, a result on RESULTS (from which worker). A failed run then
// says where the task stopped instead of only that it did.
func (c *clusterFleet) diagnose(job string, ps []problem, k int) {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tl := c.read(job)
	results := map[string]string{}
	if s, err := c.conn.JS.Stream(ctx, cluster.StreamResults); err == nil {
		if cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{cluster.ResultSubject(job)}}); err == nil {
			for {
				batch, err := cons.FetchNoWait(100)
				if err != nil {
					break
				}
				n := 0
				for m := range batch.Messages() {
					n++
					if r, err := protocol.DecodeResult(m.Data()); err == nil {
						results[r.TaskID] = r.Worker + " attempt " + itoa(r.Attempt)
					}
				}
				if n == 0 {
					break
				}
			}
		}
	}
	for _, p := range ps {
		for s := range k {
			id := trajectory.TaskID(job, p.ID, s)
			if _, ok := tl.byTask[id]; ok {
				continue
			}
			if _, ok := tl.deadBy[id]; ok {
				continue
			}
			var claim, done string
			if r, err := c.conn.Etcd.Get(ctx, cluster.ClaimKey(id)); err == nil && len(r.Kvs) == 1 {
				v, _ := cluster.DecodeClaim(r.Kvs[0].Value)
				claim = v.Worker + " attempt " + itoa(v.Attempt) + " lease " + itoa64(r.Kvs[0].Lease)
			}
			if r, err := c.conn.Etcd.Get(ctx, cluster.DoneKey(id)); err == nil && len(r.Kvs) == 1 {
				done = string(r.Kvs[0].Value)
			}
			t.Logf("missing %s: claim %q, done %q, result on RESULTS %q", id, claim, done, results[id])
		}
	}
	if r, err := c.conn.Etcd.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly()); err == nil {
		for _, kv := range r.Kvs {
			t.Logf("worker key %s lease %d", kv.Key, kv.Lease)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, "jobs", job)); errors.Is(err, os.ErrNotExist) {
		t.Logf("no job folder for %s", job)
	}
}

func itoa(n int) string     { return itoa64(int64(n)) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
