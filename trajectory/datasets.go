package trajectory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DatasetsEnv names the environment variable that points at the folder
// holding the benchmark datasets (the layout of shared/datasets).
const DatasetsEnv = "HINTFLEET_DATASETS"

// datasetSpec says where a named dataset lives under the datasets folder and
// how to read it.
type datasetSpec struct {
	file   string
	format Format
}

var datasets = map[string]datasetSpec{
	"math500":   {"math500/test.jsonl", FormatMath},
	"aime24":    {"aime24/test.jsonl", FormatMath},
	"aime25":    {"aime25/test.jsonl", FormatMath},
	"amc23":     {"amc23/test.jsonl", FormatMath},
	"gsm8k":     {"gsm8k/test.jsonl", FormatGSM8K},
	"humaneval": {"humaneval/HumanEval.jsonl", FormatHumanEval},
}

// DatasetNames lists the names LoadDataset knows, sorted.
func DatasetNames() []string {
	names := make([]string, 0, len(datasets))
	for n := range datasets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsDatasetName reports whether name is one of DatasetNames.
func IsDatasetName(name string) bool {
	_, ok := datasets[strings.ToLower(name)]
	return ok
}

// FindDatasetsDir locates the datasets folder: $HINTFLEET_DATASETS when
// set, else the first "shared/datasets" found in the working directory or
// one of its parents (so that tests, run from a package folder, and the
// binary, run from the repository, both find it).
func FindDatasetsDir() (string, error) {
	if d := os.Getenv(DatasetsEnv); d != "" {
		if !isDir(d) {
			return "", fmt.Errorf("find datasets: $%s=%s: not a folder", DatasetsEnv, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find datasets: %w", err)
	}
	for d := wd; ; {
		if c := filepath.Join(d, "shared", "datasets"); isDir(c) {
			return c, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "", fmt.Errorf("find datasets: no shared/datasets in %s or its parents; set $%s", wd, DatasetsEnv)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// ResolveDataset returns the file of the named dataset under dir (found
// with FindDatasetsDir when dir is empty) and its format. An unknown name is
// an error wrapping ErrUnknownDataset that lists the known ones.
func ResolveDataset(name, dir string) (string, Format, error) {
	spec, ok := datasets[strings.ToLower(name)]
	if !ok {
		return "", "", fmt.Errorf("%w %q (known: %s)", ErrUnknownDataset, name, strings.Join(DatasetNames(), ", "))
	}
	if dir == "" {
		var err error
		if dir, err = FindDatasetsDir(); err != nil {
			return "", "", err
		}
	}
	path := filepath.Join(dir, filepath.FromSlash(spec.file))
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("dataset %s: %s not found under %s", name, spec.file, dir)
		}
		return "", "", fmt.Errorf("dataset %s: %w", name, err)
	}
	return path, spec.format, nil
}

// LoadDataset loads one of the named benchmark sets (math500, aime24,
// aime25, amc23, gsm8k, humaneval) from dir, or from the folder
// FindDatasetsDir finds when dir is empty. Errors are as for LoadFile.
func LoadDataset(name, dir string) ([]Problem, error) {
	path, format, err := ResolveDataset(name, dir)
	if err != nil {
		return nil, fmt.Errorf("load dataset: %w", err)
	}
	return LoadFile(path, WithFormat(format), WithDataset(strings.ToLower(name)))
}
