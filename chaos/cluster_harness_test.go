package chaos

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

// A cluster fleet runs the servers as three `hintfleet servers` processes
// (one NATS JetStream node and one etcd member each, R3 streams), and a
// coordinator and two workers that reach them through an endpoints file
// listing all three, as on three machines.

// nodeLimit bounds a node's start: etcd waits for a quorum and JetStream
// for its meta leader before the node says it is up.
const nodeLimit = 2 * startLimit

// serverNode is one `hintfleet servers` process and its data.
type serverNode struct {
	peer cluster.Peer
	dir  string
	proc *proc
}

type clusterFleet struct {
	*fleet
	peers    []cluster.Peer
	peersArg string
	creds    string
	nodes    map[string]*serverNode
}

// newClusterFleet starts the sim engine and three server nodes, writes the
// fleet's endpoints file (every node, plus an API token) and connects the
// harness.
func newClusterFleet(t testing.TB, problemsPath string, extraSim ...string) *clusterFleet {
	t.Helper()
	f := &fleet{t: t, dir: t.TempDir(), problems: problemsPath}
	f.startSim(extraSim...)
	c := &clusterFleet{fleet: f, peers: clustertest.Peers(t, 3), creds: filepath.Join(t.TempDir(), "credentials"),
		nodes: map[string]*serverNode{}}
	if _, _, err := cluster.ClusterCredentials(c.creds, true); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.peers {
		names = append(names, p.String())
		c.nodes[p.Name] = &serverNode{peer: p, dir: t.TempDir()}
	}
	c.peersArg = strings.Join(names, ",")
	for _, p := range c.peers {
		c.startNode(p.Name)
	}
	for _, p := range c.peers {
		c.waitNode(p.Name)
	}
	ep, err := cluster.ReadEndpoints(cluster.EndpointsPath(c.nodes[c.peers[0].Name].dir))
	if err != nil {
		t.Fatal(err)
	}
	ep.APITokenFile = filepath.Join(t.TempDir(), "api-tokens")
	if err := os.WriteFile(ep.APITokenFile, []byte("admin cluster-chaos-api-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ep.Data = f.dir
	if err := cluster.WriteEndpoints(f.dir, ep); err != nil {
		t.Fatal(err)
	}
	cfg, err := ep.ConfigFor(cluster.NATSCoordinatorUser)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startLimit)
	defer cancel()
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	f.conn = conn
	return c
}

// startNode starts (or restarts, on its data) the node name; waitNode
// waits until it serves.
func (c *clusterFleet) startNode(name string) {
	n := c.nodes[name]
	n.proc = start(c.t, "servers-"+name, "servers", "--data", n.dir, "--name", name, "--peers", c.peersArg, "--credentials", c.creds)
}

func (c *clusterFleet) waitNode(name string) {
	c.nodes[name].proc.waitLine(c.t, `msg="servers up"`, nodeLimit)
}

// streamLeader is the node leading TASKS (its NATS server name).
func (c *clusterFleet) streamLeader() string {
	c.t.Helper()
	var leader string
	eventually.True(c.t, startLimit, "TASKS has a leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := c.conn.JS.Stream(ctx, cluster.StreamTasks)
		if err != nil {
			return false
		}
		if ci := s.CachedInfo().Cluster; ci != nil {
			leader = ci.Leader
		}
		return leader != ""
	})
	return leader
}

// etcdLeader is the node whose etcd member leads, as the members say.
func (c *clusterFleet) etcdLeader() string {
	c.t.Helper()
	var leader string
	eventually.True(c.t, startLimit, "etcd has a leader", func() bool {
		for _, p := range c.peers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.conn.Etcd.Status(ctx, "http://"+net.JoinHostPort(p.Host, strconv.Itoa(p.Port+2)))
			cancel()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				leader = p.Name
				return true
			}
		}
		return false
	})
	return leader
}

// progress records when the job's output grew: each poll that finds more
// lines than the last notes the time. The stall the fleet saw is the
// longest stretch without a new line.
type progress struct {
	mu    sync.Mutex
	lines int
	times []time.Time
	stop  context.CancelFunc
	done  chan struct{}
}

// progressPoll is how often the output files are counted.
const progressPoll = 50 * time.Millisecond

func (c *clusterFleet) watchProgress(job string) *progress {
	ctx, cancel := context.WithCancel(context.Background())
	p := &progress{stop: cancel, done: make(chan struct{})}
	files := []string{filepath.Join(c.dir, "jobs", job, coordinator.TrajectoriesFile), filepath.Join(c.dir, "jobs", job, coordinator.DeadLettersFile)}
	go func() { // owned: finish waits for done
		defer close(p.done)
		t := time.NewTicker(progressPoll)
		defer t.Stop()
		for {
			n := 0
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err == nil || errors.Is(err, os.ErrNotExist) {
					n += bytes.Count(b, []byte("\n"))
				}
			}
			p.mu.Lock()
			if n > p.lines {
				p.lines = n
				p.times = append(p.times, time.Now())
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	c.t.Cleanup(p.finish)
	return p
}

func (p *progress) written() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines
}

func (p *progress) finish() { p.stop(); <-p.done }

// stalls are the longest gap between new output lines from fault to the
// end of the job, and the longest before it (the same run's baseline).
func (p *progress) stalls(fault time.Time) (after, before time.Duration) {
	p.finish()
	p.mu.Lock()
	defer p.mu.Unlock()
	last := fault
	for i, t := range p.times {
		if t.Before(fault) {
			if i > 0 {
				before = max(before, t.Sub(p.times[i-1]))
			}
			continue
		}
		after = max(after, t.Sub(last))
		last = t
	}
	return after, before
}

// clusterRun is what one chaos run on a cluster measured.
type clusterRun struct {
	stall, baseline time.Duration
	tally           tally
}

// clusterJob is the size of a chaos run's job.
type clusterJob struct {
	problems, samples int
	// faultAt is the fraction of the tasks written before the fault.
	faultAt float64
	// allAtOnce gives the workers room for every task at once, so that
	// the run also measures how long any task sat neither claimed nor
	// done (with 8 slots for 40 tasks, most wait their turn unclaimed).
	allAtOnce bool
	// unownedBound, when set, replaces unownedGoal for the run, with why.
	unownedBound time.Duration
	unownedWhy   string
}

// runClusterChaos runs a job of size on a fresh cluster fleet (three
// server nodes, a coordinator, two workers), calls fault once a part of it
// is written, waits for the job to end, and fails on any task lost or
// duplicated. It returns the stall the fault caused.
func runClusterChaos(t testing.TB, size clusterJob, fault func(c *clusterFleet)) clusterRun {
	t.Helper()
	path, ps := writeProblems(t, size.problems, false)
	c := newClusterFleet(t, path)
	coord := c.startCoord("coord", 0)
	c.waitLeader(coord)
	total := size.problems * size.samples
	slots := 4
	if size.allAtOnce {
		slots = (total + 1) / 2
	}
	c.startWorker("w1", slots)
	c.startWorker("w2", slots)
	job := c.submit(coord.api, "cluster", size.samples)
	var unowned *unownedWatch
	if size.allAtOnce {
		unowned = watchUnowned(t, c.fleet, job, ps, size.samples) // from here the fleet can run every task at once
	}
	prog := c.watchProgress(job)
	eventually.True(t, jobLimit, "part of the job written before the fault", func() bool {
		return float64(prog.written()) >= size.faultAt*float64(total)
	})
	t.Cleanup(func() {
		if t.Failed() {
			c.diagnose(job, ps, size.samples)
		}
	})
	t0 := time.Now()
	fault(c)
	if j := c.waitJob(job, 2*jobLimit); j.State != "done" {
		t.Fatalf("job %s ended %s: %+v", job, j.State, j.Counts)
	}
	var r clusterRun
	r.stall, r.baseline = prog.stalls(t0)
	r.tally = c.count(job, ps, size.samples)
	switch {
	case unowned == nil:
	case size.unownedBound > 0:
		checkUnownedWithin(t, unowned, size.unownedBound, size.unownedWhy)
	default:
		checkUnowned(t, unowned)
	}
	t.Logf("stall after the fault %.2fs (longest gap before it %.2fs)", r.stall.Seconds(), r.baseline.Seconds())
	return r
}

// The faults.

// killStreamLeader kills -9 the node leading TASKS and restarts it.
func killStreamLeader(c *clusterFleet) {
	name := c.streamLeader()
	c.t.Logf("kill -9 %s (TASKS leader)", name)
	c.nodes[name].proc.kill()
	c.startNode(name)
	c.waitNode(name)
}

// killEtcdLeader kills -9 the node whose etcd member leads and restarts it.
func killEtcdLeader(c *clusterFleet) {
	name := c.etcdLeader()
	c.t.Logf("kill -9 %s (etcd leader)", name)
	c.nodes[name].proc.kill()
	c.startNode(name)
	c.waitNode(name)
}
