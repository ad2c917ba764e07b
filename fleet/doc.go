// Package fleet composes a fleet's processes out of the packages that do
// the work, from the plain values a command line gives: Up is `hintfleet
// up` (embedded etcd and NATS, a coordinator replica and local workers in
// one process), RunReplica one coordinator replica against running
// servers, RunWorker one worker beside its engines. What fleet decides is
// only the order things open, start and stop in, and the defaults a
// process reads from its environment ($NODE_NAME, $CUDA_VISIBLE_DEVICES,
// the engine API key); cmd/hintfleet binds its flags to these types and
// calls them.
//
// Imports point one way: cmd/hintfleet → fleet → coordinator, worker,
// cluster. Neither coordinator nor worker imports fleet.
package fleet
