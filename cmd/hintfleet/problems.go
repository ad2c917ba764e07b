package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/trajectory"
)

// problemFlags say which problems a command runs: a dataset name or file,
// a field mapping for generic files, and a limit.
type problemFlags struct {
	datasets    []string
	datasetsDir string
	fields      []string
	limit       int
}

func (f *problemFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.datasets, "dataset", nil, "dataset name ("+strings.Join(trajectory.DatasetNames(), "|")+") or JSONL file; repeatable")
	cmd.Flags().StringVar(&f.datasetsDir, "datasets-dir", "", "folder holding the named datasets (default: $HINTFLEET_DATASETS, else the copies in the binary)")
	cmd.Flags().StringSliceVar(&f.fields, "field", nil, "map a problem field to a file field for generic files, e.g. --field problem=question --field answer=final")
	cmd.Flags().IntVar(&f.limit, "limit", 0, "use only the first N problems of each dataset (0: all)")
}

// load reads every dataset given, each limited to f.limit problems.
func (f *problemFlags) load() ([]trajectory.Problem, error) {
	if len(f.datasets) == 0 {
		return nil, fmt.Errorf("no --dataset given")
	}
	fieldMap := map[string]string{}
	for _, kv := range f.fields {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--field %q: want problem_field=file_field", kv)
		}
		fieldMap[k] = v
	}
	var all []trajectory.Problem
	for _, d := range f.datasets {
		var ps []trajectory.Problem
		var err error
		if trajectory.IsDatasetName(d) {
			ps, err = trajectory.LoadDataset(d, f.datasetsDir)
		} else {
			var opts []trajectory.LoadOption
			if len(fieldMap) > 0 {
				opts = append(opts, trajectory.WithFieldMap(fieldMap))
			}
			ps, err = trajectory.LoadFile(d, opts...)
		}
		if err != nil {
			return nil, err
		}
		if f.limit > 0 && len(ps) > f.limit {
			ps = ps[:f.limit]
		}
		all = append(all, ps...)
	}
	return all, nil
}
