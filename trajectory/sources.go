package trajectory

import (
	"fmt"
	"strings"
)

// Sources names, in plain values as a command line gives them, the
// problems a run takes: named datasets (DatasetNames) and problem files.
type Sources struct {
	// Datasets are dataset names or JSONL file paths, read in order.
	Datasets []string
	// Dir overrides where named datasets are read from (DatasetsDir).
	Dir string
	// Fields map problem fields to file fields for generic files, as
	// "problem_field=file_field" pairs (WithFieldMap).
	Fields []string
	// Limit keeps the first Limit problems of each source; 0 keeps all.
	Limit int
}

// Load reads every source in order. An error names the source, or the
// field pair that does not parse. A negative Limit is an error, not "all".
func (s Sources) Load() ([]Problem, error) {
	if s.Limit < 0 {
		return nil, fmt.Errorf("limit %d: want >= 0 (0: all)", s.Limit)
	}
	var opts []LoadOption
	if len(s.Fields) > 0 {
		m := map[string]string{}
		for _, kv := range s.Fields {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" {
				return nil, fmt.Errorf("field map %q: want problem_field=file_field", kv)
			}
			m[k] = v
		}
		opts = append(opts, WithFieldMap(m))
	}
	var all []Problem
	for _, d := range s.Datasets {
		var (
			ps  []Problem
			err error
		)
		if IsDatasetName(d) {
			ps, err = LoadDataset(d, s.Dir)
		} else {
			ps, err = LoadFile(d, opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("problems %s: %w", d, err)
		}
		if s.Limit > 0 && len(ps) > s.Limit {
			ps = ps[:s.Limit]
		}
		all = append(all, ps...)
	}
	return all, nil
}
