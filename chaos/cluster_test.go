package chaos

import "testing"

// TestClusterStreamLeaderKill is the short cluster run of `make test`:
// three `hintfleet servers` nodes, a coordinator and two workers; the node
// leading TASKS is killed -9 mid-job and restarted. Every task ends once
// in the output.
func TestClusterStreamLeaderKill(t *testing.T) {
	runClusterChaos(t, clusterJob{problems: 8, samples: 2, faultAt: 0.25}, killStreamLeader)
}

// BenchmarkClusterFailover: the stall the fleet sees (longest time without
// a new output line) when the node leading TASKS is killed -9, and when
// the node leading etcd is, each on its own three-node cluster, with the
// longest gap before the fault in the same run for scale.
func BenchmarkClusterFailover(b *testing.B) {
	size := clusterJob{problems: 20, samples: 2, faultAt: 0.3}
	for _, tc := range []struct {
		name  string
		fault func(*clusterFleet)
	}{
		{"cluster_stream_leader_failover_s", killStreamLeader},
		{"cluster_etcd_leader_failover_s", killEtcdLeader},
	} {
		// Each on its own: its fleet stops before the next starts.
		b.Run(tc.name, func(b *testing.B) {
			r := runClusterChaos(b, size, tc.fault)
			b.Logf("%s: %s; gap before the fault %.2fs", tc.name, r.tally, r.baseline.Seconds())
			bench(tc.name, r.stall.Seconds(), "s")
		})
	}
}
