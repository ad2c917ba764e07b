// Package infer runs Hint-infer on one machine: it binds the hint state
// machine to real engines (engine.Client, several spread by load) and real
// tools (plugin host sessions), runs problems × samples at a fixed
// concurrency, writes trajectories with resume, and summarises the run.
//
// The adapters here (Generator, Tools) are what hint's consumer-declared
// interfaces are satisfied with; the fleet's worker uses them too.
package infer
