// Command hintfleet-python is the python tool plugin: a sandboxed Python
// interpreter per session (see package plugins/python), served over
// go-plugin's gRPC. The host starts it; run by hand it only says so.
//
// It refuses to start without bubblewrap unless --insecure-no-sandbox is
// given, which runs model-written code with only rlimits between it and the
// host. Run as root, it starts bubblewrap as an unprivileged user and
// refuses to start when that fails, unless --insecure-sandbox-as-root is
// given.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/python"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "hintfleet-python: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("hintfleet-python", flag.ContinueOnError)
	var (
		insecure = fs.Bool("insecure-no-sandbox", false, "run code WITHOUT bubblewrap (rlimits only); for machines without bwrap")
		asRoot   = fs.Bool("insecure-sandbox-as-root", false, "when run as root and bwrap cannot start as an unprivileged user, run the sandbox as host root (no process limit)")
		pool     = fs.Int("pool", python.DefaultPoolSize, "warm interpreters kept ready")
		py       = fs.String("python", python.DefaultPython, "Python interpreter (with numpy and sympy)")
		timeout  = fs.Duration("timeout", python.DefaultTimeout, "wall-clock limit per call (and the most a call may ask for)")
		memory   = fs.Int64("memory", python.DefaultMemoryBytes, "address-space limit per interpreter, bytes")
		output   = fs.Int64("output", python.DefaultOutputBytes, "stdout and stderr cap per call, bytes each")
		procs    = fs.Int64("processes", python.DefaultProcesses, "processes and threads per sandbox")
		fileSize = fs.Int64("file-size", python.DefaultFileBytes, "largest file the code may write, bytes")
		files    = fs.Int64("open-files", python.DefaultOpenFiles, "open files per interpreter")
		tmpfs    = fs.Int64("tmpfs", python.DefaultTmpfsBytes, "size of the sandbox's /tmp, bytes")
		cpu      = fs.Duration("cpu", python.DefaultCPUTime, "CPU time per session")
		ttl      = fs.Duration("session-ttl", python.DefaultSessionTTL, "close sessions left open longer than this")
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
	opts := []python.Option{
		python.WithLogger(logger),
		python.WithPoolSize(*pool),
		python.WithPython(*py),
		python.WithCPUTime(*cpu),
		python.WithSessionTTL(*ttl),
		python.WithLimits(plugins.Limits{
			Timeout: *timeout, MemoryBytes: *memory, OutputBytes: *output, Processes: *procs,
			FileBytes: *fileSize, OpenFiles: *files, TmpfsBytes: *tmpfs,
		}),
	}
	if *insecure {
		opts = append(opts, python.WithSandboxOptions(sandbox.WithInsecureNoSandbox()))
	}
	if *asRoot {
		opts = append(opts, python.WithSandboxOptions(sandbox.WithInsecureSandboxAsRoot()))
	}
	if os.Getenv(plugins.MagicCookieKey) != plugins.MagicCookieValue {
		// Run by hand: let go-plugin say so and exit before any sandbox starts.
		plugins.Serve(nil)
		return nil
	}
	start := time.Now()
	interp, err := python.New(opts...)
	if err != nil {
		return err
	}
	defer interp.Stop()
	logger.Info("python tool ready", "pool", *pool, "startup", time.Since(start), "insecure", *insecure)
	plugins.Serve(interp)
	return nil
}
