package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/curate"
)

// Sources names, in plain values as a command line gives them, what a
// report shows; Load reads them into an Input.
type Sources struct {
	Title string
	// Runs are "LABEL=FILE": trajectories files compared per dataset.
	Runs []string
	// Files are trajectories files labelled by their base name, after Runs.
	Files []string
	// Scaling are "N=FILE": runs with --defer-stop N, for the sequential
	// scaling chart, after Files.
	Scaling []string
	// Curation is a curation.json (curate.ReportFile); RFT the JSON of
	// `hintfleet rft --json`.
	Curation, RFT string
}

// ErrNothingToReport: Sources names no run, scaling run, curation report
// or RFT result, so a report would be an empty page.
var ErrNothingToReport = errors.New("report: nothing to report: give at least one run, scaling run, curation report or RFT result")

// Load reads every source, naming the bad one in an error, and stamps the
// Input with the time now. Sources that name nothing are ErrNothingToReport,
// so that a command run without its flags refuses instead of writing an
// empty page over an earlier report.
func (s Sources) Load() (Input, error) {
	in := Input{Title: s.Title, Now: time.Now()}
	if len(s.Runs)+len(s.Files)+len(s.Scaling) == 0 && s.Curation == "" && s.RFT == "" {
		return in, ErrNothingToReport
	}
	add := func(label, path string, deferStop int) error {
		r, err := LoadRun(label, path, deferStop)
		if err == nil {
			in.Runs = append(in.Runs, r)
		}
		return err
	}
	for _, r := range s.Runs {
		label, path, ok := strings.Cut(r, "=")
		if !ok {
			return in, fmt.Errorf("run %q: want LABEL=FILE", r)
		}
		if err := add(label, path, -1); err != nil {
			return in, err
		}
	}
	for _, p := range s.Files {
		if err := add(strings.TrimSuffix(filepath.Base(p), ".jsonl"), p, -1); err != nil {
			return in, err
		}
	}
	for _, sc := range s.Scaling {
		n, path, ok := strings.Cut(sc, "=")
		d, err := strconv.Atoi(n)
		if !ok || err != nil || d < 0 {
			return in, fmt.Errorf("scaling %q: want N=FILE with N the --defer-stop of that run", sc)
		}
		if err := add("defer "+n, path, d); err != nil {
			return in, err
		}
	}
	if s.Curation != "" {
		in.Curation = &curate.Report{}
		if err := readJSON(s.Curation, in.Curation); err != nil {
			return in, err
		}
	}
	if s.RFT != "" {
		var res curate.RFTResult
		if err := readJSON(s.RFT, &res); err != nil {
			return in, err
		}
		in.RFT = &res.Stats
	}
	return in, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read report source: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// WriteFile writes the report of in to path, through a temporary file
// renamed over it, so that a report that fails half-way leaves the earlier
// one at path as it was.
func WriteFile(path string, in Input) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := errors.Join(Write(f, in), f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteCuration writes to path the report of a curation: the runs of its
// input files and its funnel.
func WriteCuration(path string, inputs []string, rep *curate.Report) error {
	in, err := Sources{Title: "hintfleet curation", Files: inputs}.Load()
	if err != nil {
		return err
	}
	in.Curation = rep
	return WriteFile(path, in)
}
