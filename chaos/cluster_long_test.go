//go:build chaos

package chaos

import "testing"

// The cluster runs of `make chaos`: each on a fresh three-node cluster
// with a coordinator and two workers throughout; every task exactly once
// in the output, and the stall logged.

// clusterLongJob is long enough to span a fault and the recovery after it.
var clusterLongJob = clusterJob{problems: 20, samples: 2, faultAt: 0.25}

func TestClusterEtcdLeaderKill(t *testing.T) {
	runClusterChaos(t, clusterLongJob, killEtcdLeader)
}

func TestClusterNodeFrozen(t *testing.T) {
	runClusterChaos(t, clusterLongJob, freezeNode)
}

// TestClusterRollingRestart restarts the three nodes one after another
// while the job runs; its job is longer, so that it spans all three.
func TestClusterRollingRestart(t *testing.T) {
	runClusterChaos(t, clusterJob{problems: 40, samples: 2, faultAt: 0.1}, rollingRestart)
}
