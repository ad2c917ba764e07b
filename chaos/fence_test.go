package chaos

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

// TestFrozenLeaderWritesNothing: the leading coordinator is frozen with
// SIGSTOP while results flow in, past its election TTL; the standby leads
// and writes; the old leader is resumed with SIGCONT. It still believes it
// leads until it learns otherwise, and everything it tries to write then is
// refused: after the freeze, every registry write (a put of the job's key
// in etcd) and every output line is the new leader's, counted by the new
// leader's own counters, but for at most the one append whose fence check
// came just before the freeze. The job ends with every task exactly once.
func TestFrozenLeaderWritesNothing(t *testing.T) {
	path, ps := writeProblems(t, 16, false)
	f := newFleet(t, path)
	a := f.startCoord("coord-a", 0)
	f.waitLeader(a)
	b := f.startCoord("coord-b", 0)
	f.startWorker("w1", 16)
	f.startWorker("w2", 16)
	job := f.submit(a.api, "frozen", 2, "--hints", "paper")
	unowned := watchUnowned(t, f, job, ps, 2)
	eventually.True(t, jobLimit, "some results written", func() bool { return f.written(job) >= 4 })

	ctx, cancel := context.WithTimeout(context.Background(), jobLimit)
	defer cancel()
	lead, err := f.conn.Etcd.Get(ctx, cluster.ElectionPrefix+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(lead.Kvs) != 1 || string(lead.Kvs[0].Value) != a.api {
		t.Fatalf("leader key: %v %v, want coord-a's", lead, err)
	}
	aKey := lead.Kvs[0].Key
	gone := f.conn.Etcd.Watch(ctx, string(aKey), clientv3.WithRev(lead.Header.Revision+1), clientv3.WithFilterPut())

	a.signal(syscall.SIGSTOP)
	a.waitStopped(t)
	// Frozen, and the standby cannot lead before a's lease expires: the
	// output as it is now is everything a wrote, but for the one window
	// the fence leaves (docs/architecture.md, invariant 7): an append a
	// checked just before the freeze and writes on resume.
	before := f.lines(job)
	var fencedAt int64 // the revision that deleted a's election key
	select {
	case wr := <-gone:
		if len(wr.Events) == 0 {
			t.Fatalf("watch of coord-a's election key: %v", wr.Err())
		}
		fencedAt = wr.Events[0].Kv.ModRevision
	case <-ctx.Done():
		t.Fatal("coord-a's election key outlived its TTL while frozen")
	}
	f.waitLeader(b)
	eventually.True(t, jobLimit, "coord-b writes results", func() bool { return f.written(job) >= before[coordinator.TrajectoriesFile]+4 })
	a.signal(syscall.SIGCONT)
	t.Logf("coord-a resumed: %s", a.waitLine(t, `msg="stopped leading"`, jobLimit))

	j := f.waitJob(job, jobLimit)
	if j.State != coordinator.JobDone {
		t.Fatalf("job ended %s: %s", j.State, j.Error)
	}
	f.count(job, ps, 2)
	checkUnowned(t, unowned)
	if a.leads() {
		t.Fatal("coord-a leads again")
	}

	after := f.lines(job)
	bm := f.scrape(b.api)
	am := f.scrape(a.api)
	byA := 0 // lines since the freeze that coord-b did not write
	for file, series := range map[string]string{
		coordinator.TrajectoriesFile: "hintfleet_tasks_completed_total",
		coordinator.DeadLettersFile:  "hintfleet_tasks_dead_lettered_total",
	} {
		got, byB := after[file]-before[file], int(bm[series])
		if got < byB {
			t.Errorf("%s: %d lines since the freeze, but coord-b counts %d", file, got, byB)
		}
		byA += got - byB
	}
	// One intake appends one line at a time, checking the fence before
	// each: at most the append in flight at the freeze can land after it.
	if byA > 1 {
		t.Errorf("coord-a wrote %d output lines after the freeze, want at most the 1 it checked just before", byA)
	} else if byA == 1 {
		t.Logf("coord-a wrote the 1 line whose fence check came just before the freeze (the window invariant 7 names)")
	}
	puts := f.jobPuts(ctx, job, fencedAt)
	if byB := int(bm["hintfleet_registry_writes_total"]); puts != byB {
		t.Errorf("job record written %d times since coord-a's election key went, coord-b wrote it %d times: coord-a wrote after it lost its term", puts, byB)
	}
	t.Logf("since the freeze: %d trajectory lines (%d not coord-b's) and %d registry writes, all coord-b's; coord-a's writes refused: %v",
		after[coordinator.TrajectoriesFile]-before[coordinator.TrajectoriesFile], byA, puts, am["hintfleet_writes_fenced_total"])
}

// lines counts the whole lines of each of the job's output files.
func (f *fleet) lines(job string) map[string]int {
	out := map[string]int{}
	for _, name := range []string{coordinator.TrajectoriesFile, coordinator.DeadLettersFile} {
		b, err := os.ReadFile(filepath.Join(f.dir, "jobs", job, name))
		if err != nil && !os.IsNotExist(err) {
			f.t.Fatal(err)
		}
		out[name] = bytes.Count(b, []byte("\n"))
	}
	return out
}

// jobPuts counts the writes of job's registry key after revision from,
// by replaying the key's history up to its latest write.
func (f *fleet) jobPuts(ctx context.Context, job string, from int64) int {
	f.t.Helper()
	cur, err := f.conn.Etcd.Get(ctx, cluster.JobKey(job))
	if err != nil || len(cur.Kvs) != 1 {
		f.t.Fatalf("read job %s: %v", job, err)
	}
	latest := cur.Kvs[0].ModRevision
	if latest <= from {
		return 0
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	for wr := range f.conn.Etcd.Watch(wctx, cluster.JobKey(job), clientv3.WithRev(from+1), clientv3.WithFilterDelete()) {
		if err := wr.Err(); err != nil {
			f.t.Fatal(err)
		}
		for _, ev := range wr.Events {
			n++
			if ev.Kv.ModRevision >= latest {
				return n
			}
		}
	}
	f.t.Fatalf("history of job %s ended before revision %d", job, latest)
	return n
}

// scrape reads a coordinator's /metrics (with the API token `up` wrote)
// into series → value; series with labels are skipped.
func (f *fleet) scrape(api string) map[string]float64 {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, api+"/metrics", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.apiToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s/metrics: %s", api, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 2 && !strings.HasPrefix(fs[0], "#") && !strings.Contains(fs[0], "{") {
			out[fs[0]], _ = strconv.ParseFloat(fs[1], 64)
		}
	}
	return out
}

// apiToken is a token of the API's tokens file that `up` wrote.
func (f *fleet) apiToken() string {
	f.t.Helper()
	ep, err := cluster.ReadEndpoints(cluster.EndpointsPath(f.dir))
	if err != nil {
		f.t.Fatal(err)
	}
	toks, err := coordinator.LoadTokensFile(ep.APITokenFile)
	if err != nil || len(toks) == 0 {
		f.t.Fatalf("api tokens: %v", err)
	}
	return toks[0].Secret
}
