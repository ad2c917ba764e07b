// Package bash is the hintfleet tool that runs model-written shell code:
// ```bash, ```sh and ```shell blocks, in a plugins/sandbox sandbox.
// plugins/cmd/hintfleet-bash serves it over go-plugin; `make plugins`
// builds it into bin/plugins and checksums it.
//
// What a block gets: uid 65534 in /tmp (its only writable directory,
// Limits.TmpfsBytes), no network, a read-only view of /usr/bin and
// /usr/share (coreutils, grep, sed, awk, bc, python3 with numpy where the
// host has them) and the shared libraries, nothing else of the host (no
// /etc/passwd, /home, /root, /usr/local), rlimits (memory, processes,
// file size, open files, CPU time) and a wall-clock limit. stdin is empty.
//
// A session is one shell in one sandbox, started by Open: its blocks run
// in it one after another (eval'd by a small driver loop), so variables,
// functions, the working directory, files under /tmp and background jobs
// carry over, as in a terminal. A block that ends the shell (exit, a
// timeout, a limit's signal) says so, and the next block gets a fresh
// shell and sandbox. A stateless session (OpenRequest.Stateless, as
// `hintfleet plugins exec` opens) runs each block as `bash -c` in a fresh
// sandbox. Background output written between blocks shows in the next
// block's output.
//
// Teaching a model the tool takes a hint that names the fence, in the hint
// library (see docs/hints.md):
//
//	[{"lang": "bash", "text": "Wait, let me check this in a ```bash block."}]
//
// The simulated engine learns it from that text, or from a ToolFence in
// its reasoner's configuration (infer's TestHintInferBash).
//
// Results: stdout and stderr, each cut at Limits.OutputBytes (kind
// output_limit, truncated flags set); the block's exit status as
// ExitCode (a shell's: 128+N when its last command died of signal N); kind
// timeout for the wall-clock limit (ExitCode -1) or SIGXCPU, output_limit
// for SIGXFSZ (a file or the output past Limits.FileBytes), killed for
// SIGKILL. A non-zero status alone is no error kind: the code ran.
package bash
