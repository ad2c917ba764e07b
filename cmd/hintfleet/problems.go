package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/trajectory"
)

// problemFlags bind the flags that say which problems a command runs to a
// trajectory.Sources: dataset names or files, a field mapping for generic
// files, and a limit.
type problemFlags struct{ s trajectory.Sources }

func (f *problemFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.s.Datasets, "dataset", nil, "dataset name ("+strings.Join(trajectory.DatasetNames(), "|")+") or JSONL file; repeatable")
	fl.StringVar(&f.s.Dir, "datasets-dir", "", "folder holding the named datasets (default: $HINTFLEET_DATASETS, else the copies in the binary)")
	fl.StringSliceVar(&f.s.Fields, "field", nil, "map a problem field to a file field for generic files, e.g. --field problem=question --field answer=final")
	fl.IntVar(&f.s.Limit, "limit", 0, "use only the first N problems of each dataset (0: all)")
}

func (f *problemFlags) load() ([]trajectory.Problem, error) {
	if len(f.s.Datasets) == 0 {
		return nil, errors.New("no --dataset given")
	}
	return f.s.Load()
}
