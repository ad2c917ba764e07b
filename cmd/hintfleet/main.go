// Command hintfleet is the one binary of hintfleet: the simulated engine, the
// dataset tools, tool plugins, Hint-infer and the fleet. It only wires
// packages together; the logic lives in them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitInterrupted is the exit status of a command stopped by SIGINT or
// SIGTERM (128 + SIGINT, as shells report it), so that a script tells an
// interrupted run from a failed one.
const exitInterrupted = 130

// execute runs the CLI with args and returns the exit status: 0, or 1
// after one line "hintfleet: ERROR" on stderr (the parts of a joined error
// separated by "; "), so that scripts and logs see one line per failure;
// exitInterrupted when ctx (the signals) ended the command.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var st exitStatus
		if errors.As(err, &st) {
			return int(st)
		}
		fmt.Fprintln(stderr, "hintfleet:", strings.ReplaceAll(err.Error(), "\n", "; "))
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return 1
	}
	return 0
}

// exitStatus ends the process with that status and no message: the command
// has already said what happened (plugins exec: the code's own status).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// printJSON writes v as indented JSON, the shape of every --json output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hintfleet",
		Short:         "Run START's Hint-infer, Hint-RFT and RFT on a fleet of GPU nodes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newSimEngineCmd(), newDatasetsCmd(), newPluginsCmd(), newInferCmd(),
		newTopCmd(), newGPUCmd(), newSummaryCmd(), newGradeCmd(), newCurateCmd(), newRFTCmd(), newReportCmd(),
		newUpCmd(), newServersCmd(), newCoordinatorCmd(), newWorkerCmd(), newSubmitCmd(), newStatusCmd(), newJobsCmd(), newCancelCmd())
	return root
}

// write prints v as JSON (printJSON) with asJSON, else for people with
// text.
func write(w io.Writer, asJSON bool, v any, text func(io.Writer) error) error {
	if asJSON {
		return printJSON(w, v)
	}
	return text(w)
}
