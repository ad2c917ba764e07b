// Package chaos holds the fleet's chaos tests and fleet benchmarks. They run
// the real binary: TestMain builds cmd/hintfleet once into a temporary
// folder, and every test starts the pieces of a fleet as separate processes
// (embedded servers with `hintfleet up --workers 0 --coordinator=false`,
// coordinator replicas, workers, a sim engine), then kills, stops or
// restarts them with real signals. What an in-process test cannot show
// (a kill -9 leaves no deferred cleanup, a SIGSTOPped worker keeps its
// sockets open, a restarted server reloads its files) is what these check.
//
// Each test submits a job, breaks something, waits for the job to end and
// then counts, from the job's trajectories.jsonl and dead_letters.jsonl,
// the tasks submitted, written, dead-lettered, duplicated and lost; any
// loss or duplicate fails the test. Every output line must parse: a torn
// line is a failure too.
//
// The cluster runs (cluster_*_test.go) put the servers in three `hintfleet
// servers` processes (one NATS node and one etcd member each, R3 streams)
// and kill -9 the node leading TASKS or etcd, freeze one with SIGSTOP, or
// restart all three in turn, with a coordinator and two workers
// throughout; each also reports the stall the fleet saw (the longest time
// without a new output line after the fault). TestDebianServers runs a job
// through Debian's packaged nats-server 2.9 and etcd 3.4, the oldest
// supported; upgrade_test.go runs an old build's worker (emulated at the
// message layer) beside a new one.
//
// The short set (worker kill -9, poison task, the kill -9 of the TASKS
// leader on a cluster, the Debian servers, the rolling upgrade) runs with
// `go test`; the long set needs the build tag: `go test -tags chaos
// ./chaos/...` (`make chaos`). Benchmarks print `BENCH <name> <value>
// <unit>` lines.
//
// The package has no non-test code beyond this comment.
package chaos
