//go:build chaos

package chaos

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

// The cluster runs of `make chaos`: each on a fresh three-node cluster
// with a coordinator and two workers throughout; every task exactly once
// in the output, and the stall logged.

// clusterLongJob is long enough to span a fault and the recovery after it.
var clusterLongJob = clusterJob{problems: 20, samples: 2, faultAt: 0.25, allAtOnce: true}

// TestClusterStreamLeaderKillAllAtOnce is make test's stream-leader kill
// with room for every task at once, so that it measures unowned time too.
func TestClusterStreamLeaderKillAllAtOnce(t *testing.T) {
	runClusterChaos(t, clusterLongJob, killStreamLeader)
}

func TestClusterEtcdLeaderKill(t *testing.T) {
	runClusterChaos(t, clusterLongJob, killEtcdLeader)
}

// TestClusterNodeFrozen bounds the time a task sits unowned by the time
// an etcd client takes to leave a silent member, not the lease TTL alone:
// a client pings at most every 5 s (etcd refuses pings more often by
// default) and waits 3 s for the answer, so with this harness's 2 s lease
// TTL a worker whose lease was kept alive through the frozen member loses
// it, and registers again only once its client has moved to another
// member. With a lease TTL above those 8 s (the default is 10 s) the lease
// outlives the switch.
func TestClusterNodeFrozen(t *testing.T) {
	size := clusterLongJob
	size.unownedBound, size.unownedWhy = 8*time.Second+unownedGoal, "an etcd client's switch from a silent member (5 s + 3 s) + lease TTL + 2s"
	runClusterChaos(t, size, freezeNode)
}

// TestClusterRollingRestart restarts the three nodes one after another
// while the job runs; its job is longer, so that it spans all three.
func TestClusterRollingRestart(t *testing.T) {
	runClusterChaos(t, clusterJob{problems: 40, samples: 2, faultAt: 0.1, allAtOnce: true}, rollingRestart)
}

// freezeNode stops the node leading TASKS with SIGSTOP until the others
// have elected a new TASKS leader and a new etcd leader if it led etcd
// too (past both election timeouts), then resumes it with SIGCONT.
func freezeNode(c *clusterFleet) {
	name := c.streamLeader()
	ledEtcd := c.etcdLeader() == name
	c.t.Logf("SIGSTOP %s (TASKS leader, etcd leader: %v)", name, ledEtcd)
	n := c.nodes[name]
	n.proc.signal(syscall.SIGSTOP)
	eventually.True(c.t, nodeLimit, "new leaders while "+name+" is frozen", func() bool {
		return c.streamLeaderNot(name) && (!ledEtcd || c.etcdLeader() != name)
	})
	n.proc.signal(syscall.SIGCONT)
	c.t.Logf("SIGCONT %s", name)
}

// streamLeaderNot reports whether TASKS has a leader other than name now.
func (c *clusterFleet) streamLeaderNot(name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.conn.JS.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		return false
	}
	ci := s.CachedInfo().Cluster
	return ci != nil && ci.Leader != "" && ci.Leader != name
}

// rollingRestart stops each node in turn (SIGTERM), starts it again and
// waits until it serves before the next.
func rollingRestart(c *clusterFleet) {
	for _, p := range c.peers {
		n := c.nodes[p.Name]
		c.t.Logf("restart %s", p.Name)
		n.proc.signal(syscall.SIGTERM)
		<-n.proc.donec
		c.startNode(p.Name)
		c.waitNode(p.Name)
	}
}
