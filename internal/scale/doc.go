// Package scale is the fleet harness: N simulated workers, many per process,
// against a real coordinator (its own process, so its CPU and memory are
// measured alone), real embedded NATS with JetStream and real embedded etcd.
//
// The workers are worker.Worker itself, with everything it does to the
// servers: registration under a lease and its keep-alives, registration
// updates, the job watch, pulls from its own and its pool's consumer,
// claims, AckProgress, delta checkpoints every CheckpointEvery, results of
// realistic size, releases. Only the GPU is simulated (GPU): engine/sim's
// time model without HTTP or tokens, releasing text in real time. Workers
// share a NATS connection and an etcd client per WorkersPerConn, as the
// processes of one node would not, but the server sees the same requests.
//
// With Options.Rate it runs a driver instead of the workers (driver.go):
// registered workers and a paced loop that turns tasks over at a fleet's
// rate, for the coordinator's load without the fleet's cost here.
//
// What it cannot show: on one machine the servers, the workers and the
// coordinator share its cores and disk, so the coordinator's latency
// includes waiting for a CPU the simulated fleet is using, and JetStream's
// fsyncs go to one disk; a single NATS and etcd node say nothing about
// replication (R3, Raft) costs; and the GPU model has no failures, slow
// nodes or network latency between nodes. docs/scale.md has the figures
// and the projection.
//
// Run it with `make scale`.
package scale
