package trajectory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hintfleet/hintfleet/datasets"
)

// DatasetsEnv names the environment variable that points at a folder of
// benchmark datasets (the layout of the repository's datasets/) to read
// instead of the copies compiled into the binary.
const DatasetsEnv = "HINTFLEET_DATASETS"

// datasetSpec says where a named dataset lives under a datasets folder and
// how to read it.
type datasetSpec struct {
	file   string // slash-separated, relative to the folder
	format Format
}

var datasetSpecs = map[string]datasetSpec{
	"math500":   {"math500/test.jsonl", FormatMath},
	"aime24":    {"aime24/test.jsonl", FormatMath},
	"aime25":    {"aime25/test.jsonl", FormatMath},
	"amc23":     {"amc23/test.jsonl", FormatMath},
	"gsm8k":     {"gsm8k/test.jsonl", FormatGSM8K},
	"humaneval": {"humaneval/HumanEval.jsonl", FormatHumanEval},
}

// DatasetNames lists the names LoadDataset knows, sorted.
func DatasetNames() []string {
	names := make([]string, 0, len(datasetSpecs))
	for n := range datasetSpecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsDatasetName reports whether name is one of DatasetNames.
func IsDatasetName(name string) bool {
	_, ok := datasetSpecs[strings.ToLower(name)]
	return ok
}

// DatasetsDir returns the folder that overrides the embedded datasets: dir
// when it is not empty, else $HINTFLEET_DATASETS, else "" (read the copies
// compiled into the binary). A named folder that does not exist is an
// error rather than a silent fall back to the embedded data, since whoever
// named it meant other files.
func DatasetsDir(dir string) (string, error) {
	what := "datasets folder " + dir
	if dir == "" {
		if dir = os.Getenv(DatasetsEnv); dir == "" {
			return "", nil
		}
		what = "$" + DatasetsEnv + "=" + dir
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("find datasets: %s: %w", what, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("find datasets: %s: not a folder", what)
	}
	return dir, nil
}

// DatasetsOrigin says, for people, where named datasets are read from as
// DatasetsDir resolves dir: "folder X", "folder X ($HINTFLEET_DATASETS)",
// or "the copies in the binary". A process that serves named datasets to
// others (the coordinator) says it at start, and fails there on a folder
// that does not exist rather than at the first job.
func DatasetsOrigin(dir string) (string, error) {
	got, err := DatasetsDir(dir)
	switch {
	case err != nil:
		return "", err
	case got == "":
		return "the copies in the binary (" + strings.Join(DatasetNames(), ", ") + ")", nil
	case dir == "":
		return "folder " + got + " ($" + DatasetsEnv + ")", nil
	}
	return "folder " + got, nil
}

// DatasetSource is where a named dataset's rows come from: a file in a
// datasets folder, or the copy embedded in the binary (package datasets).
type DatasetSource struct {
	// Name is the dataset's name, lower case.
	Name   string
	Format Format
	// Path names the file in messages: the file in the folder, or
	// "datasets/<file>" (its place in the repository) when Embedded.
	Path     string
	Embedded bool

	fsys fs.FS
	file string
}

// Open opens the dataset's file for reading.
func (s DatasetSource) Open() (io.ReadCloser, error) {
	if s.fsys == nil {
		return nil, fmt.Errorf("open dataset %s: not resolved", s.Name)
	}
	f, err := s.fsys.Open(s.file)
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", s.Name, err)
	}
	return f, nil
}

// ResolveDataset finds the named dataset: under dir when it is not empty,
// else under $HINTFLEET_DATASETS when set, else in the binary. An unknown
// name is an error wrapping ErrUnknownDataset that lists the known ones.
func ResolveDataset(name, dir string) (DatasetSource, error) {
	spec, ok := datasetSpecs[strings.ToLower(name)]
	if !ok {
		return DatasetSource{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownDataset, name, strings.Join(DatasetNames(), ", "))
	}
	src := DatasetSource{Name: strings.ToLower(name), Format: spec.format, file: spec.file}
	dir, err := DatasetsDir(dir)
	if err != nil {
		return DatasetSource{}, err
	}
	if dir == "" {
		src.fsys, src.Embedded = datasets.FS(), true
		src.Path = path.Join("datasets", spec.file)
		return src, nil
	}
	src.fsys = os.DirFS(dir)
	src.Path = filepath.Join(dir, filepath.FromSlash(spec.file))
	if _, err := fs.Stat(src.fsys, spec.file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return DatasetSource{}, fmt.Errorf("dataset %s: %s not found under %s", name, spec.file, dir)
		}
		return DatasetSource{}, fmt.Errorf("dataset %s: %w", name, err)
	}
	return src, nil
}

// OpenDataset opens the named dataset (found as ResolveDataset finds it)
// for streaming. opts come after the dataset's own format and name, so they
// may override either. Close the reader when done.
func OpenDataset(name, dir string, opts ...LoadOption) (*ProblemReader, error) {
	src, err := ResolveDataset(name, dir)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	return src.problems(opts)
}

// problems opens src as a ProblemReader that closes the file with itself.
func (s DatasetSource) problems(opts []LoadOption) (*ProblemReader, error) {
	f, err := s.Open()
	if err != nil {
		return nil, err
	}
	opts = append([]LoadOption{WithFormat(s.Format), WithDataset(s.Name)}, opts...)
	pr, err := NewProblemReader(f, s.Path, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	pr.closer = f
	return pr, nil
}

// LoadDataset loads one of the named benchmark sets (math500, aime24,
// aime25, amc23, gsm8k, humaneval) from dir, else from $HINTFLEET_DATASETS,
// else from the copy in the binary. Errors are as for LoadFile.
func LoadDataset(name, dir string) ([]Problem, error) {
	src, err := ResolveDataset(name, dir)
	if err != nil {
		return nil, fmt.Errorf("load dataset: %w", err)
	}
	pr, err := src.problems(nil)
	if err != nil {
		return nil, fmt.Errorf("load dataset: %w", err)
	}
	defer pr.Close()
	return loadAll(pr, src.Path)
}

// InspectDataset is Inspect for a named dataset, found as ResolveDataset
// finds it.
func InspectDataset(ctx context.Context, name, dir string, opts ...LoadOption) (*Inspection, error) {
	src, err := ResolveDataset(name, dir)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	pr, err := src.problems(opts)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	defer pr.Close()
	in, err := inspect(ctx, pr, src.Path)
	if in != nil {
		in.Embedded = src.Embedded
	}
	return in, err
}

// InspectArg inspects what a command line names: an existing file as a
// file (Inspect), else a named dataset (InspectDataset, found in dir);
// format, when set, is the file format instead of sniffing it.
func InspectArg(ctx context.Context, arg, dir, format string) (*Inspection, error) {
	var opts []LoadOption
	if format != "" {
		opts = append(opts, WithFormat(Format(format)))
	}
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return Inspect(ctx, arg, opts...)
	}
	if !IsDatasetName(arg) {
		return nil, fmt.Errorf("inspect %s: not a file, and %w (known: %s)",
			arg, ErrUnknownDataset, strings.Join(DatasetNames(), ", "))
	}
	return InspectDataset(ctx, arg, dir, opts...)
}
