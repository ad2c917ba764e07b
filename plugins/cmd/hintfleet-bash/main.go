// Command hintfleet-bash is the bash tool plugin: each ```bash, ```sh or
// ```shell block runs as bash -c in a fresh sandbox (see package
// plugins/bash), served over go-plugin's gRPC. The host starts it; run by
// hand it only says so.
//
// It refuses to start without bubblewrap unless --insecure-no-sandbox is
// given, which runs model-written code with only rlimits between it and the
// host. Run as root, it starts bubblewrap as an unprivileged user and
// refuses to start when that fails, unless --insecure-sandbox-as-root is
// given.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/bash"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "hintfleet-bash: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("hintfleet-bash", flag.ContinueOnError)
	var (
		insecure = fs.Bool("insecure-no-sandbox", false, "run code WITHOUT bubblewrap (rlimits only); for machines without bwrap")
		asRoot   = fs.Bool("insecure-sandbox-as-root", false, "when run as root and bwrap cannot start as an unprivileged user, run the sandbox as host root (no process limit)")
		shell    = fs.String("bash", bash.DefaultBash, "the shell")
		binds    = fs.String("binds", strings.Join(bash.DefaultBinds, ","), "host directories a block sees read-only, comma-separated (beside the shared libraries)")
		timeout  = fs.Duration("timeout", bash.DefaultTimeout, "wall-clock limit per block (and the most a call may ask for)")
		memory   = fs.Int64("memory", bash.DefaultMemoryBytes, "address-space limit per process, bytes")
		output   = fs.Int64("output", bash.DefaultOutputBytes, "stdout and stderr kept per block, bytes each")
		procs    = fs.Int64("processes", bash.DefaultProcesses, "processes and threads per sandbox")
		fileSize = fs.Int64("file-size", bash.DefaultFileBytes, "largest file (and output) a block may write, bytes")
		files    = fs.Int64("open-files", bash.DefaultOpenFiles, "open files per process")
		tmpfs    = fs.Int64("tmpfs", bash.DefaultTmpfsBytes, "size of the sandbox's /tmp, bytes")
		cpu      = fs.Duration("cpu", bash.DefaultCPUTime, "CPU time per process")
		ttl      = fs.Duration("session-ttl", bash.DefaultSessionTTL, "close sessions left open longer than this")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("flag -log-level: %w", err)
	}
	// stdout belongs to go-plugin's handshake; logs go to stderr, which the
	// host relays.
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var bindList []string
	for _, b := range strings.Split(*binds, ",") {
		if b = strings.TrimSpace(b); b != "" {
			bindList = append(bindList, b)
		}
	}
	opts := []bash.Option{
		bash.WithLogger(logger),
		bash.WithBash(*shell),
		bash.WithBinds(bindList...),
		bash.WithCPUTime(*cpu),
		bash.WithSessionTTL(*ttl),
		bash.WithLimits(plugins.Limits{
			Timeout: *timeout, MemoryBytes: *memory, OutputBytes: *output, Processes: *procs,
			FileBytes: *fileSize, OpenFiles: *files, TmpfsBytes: *tmpfs,
		}),
	}
	if *insecure {
		opts = append(opts, bash.WithSandboxOptions(sandbox.WithInsecureNoSandbox()))
	}
	if *asRoot {
		opts = append(opts, bash.WithSandboxOptions(sandbox.WithInsecureSandboxAsRoot()))
	}
	if os.Getenv(plugins.MagicCookieKey) != plugins.MagicCookieValue {
		// Run by hand: let go-plugin say so and exit before any sandbox starts.
		plugins.Serve(nil)
		return nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tool, err := bash.New(ctx, opts...)
	cancel()
	if err != nil {
		return err
	}
	defer tool.Stop()
	logger.Info("bash tool ready", "startup", time.Since(start), "insecure", *insecure)
	plugins.Serve(tool)
	return nil
}
