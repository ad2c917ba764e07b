package python

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

//go:embed kernel.py
var kernelSource string

// pythonEnv is added to the sandbox's base environment. One BLAS thread
// keeps RLIMIT_AS and RLIMIT_NPROC meaningful (OpenBLAS maps a large arena
// per thread) and the host's cores shared.
var pythonEnv = []string{
	"PYTHONDONTWRITEBYTECODE=1",
	"OPENBLAS_NUM_THREADS=1",
	"OMP_NUM_THREADS=1",
	"MKL_NUM_THREADS=1",
	"MPLCONFIGDIR=/tmp",
}

// kernelConfig is what kernel.py reads from argv[1].
type kernelConfig struct {
	MemoryBytes int64    `json:"memory_bytes"`
	OutputBytes int64    `json:"output_bytes"`
	Processes   int64    `json:"processes"`
	FileBytes   int64    `json:"file_bytes"`
	OpenFiles   int64    `json:"open_files"`
	CPUSeconds  int64    `json:"cpu_seconds"`
	Preload     []string `json:"preload"`
}

// launch says how to start interpreters; New fills it once.
type launch struct {
	cfg *config
	sb  *sandbox.Sandbox
	// kcfg is kernel.py's configuration, encoded once.
	kcfg string
}

// newLaunch prepares the sandbox every interpreter runs in: the package
// plugins/sandbox with the interpreter's own directories bound read-only
// (its standard library and the preloads, asked of the host's interpreter
// once, and only when bubblewrap is used) and the python tool's limits,
// then WithSandboxOptions' options. kernel.py sets the same rlimits
// again from inside, which is what holds in the insecure mode.
func newLaunch(ctx context.Context, cfg *config) (*launch, error) {
	kcfg, err := json.Marshal(kernelConfig{
		MemoryBytes: cfg.limits.MemoryBytes,
		OutputBytes: cfg.limits.OutputBytes,
		Processes:   cfg.limits.Processes,
		FileBytes:   cfg.limits.FileBytes,
		OpenFiles:   cfg.limits.OpenFiles,
		CPUSeconds:  int64(cfg.cpuTime / time.Second),
		Preload:     cfg.preload,
	})
	if err != nil {
		return nil, fmt.Errorf("encode kernel config: %w", err)
	}
	opts := []sandbox.Option{
		sandbox.WithLimits(sandbox.Limits{
			CPUTime:     cfg.cpuTime,
			MemoryBytes: cfg.limits.MemoryBytes,
			Processes:   cfg.limits.Processes,
			FileBytes:   cfg.limits.FileBytes,
			OpenFiles:   cfg.limits.OpenFiles,
			TmpfsBytes:  cfg.limits.TmpfsBytes,
		}),
		sandbox.WithEnv(pythonEnv...),
		sandbox.WithLogger(cfg.logger),
		sandbox.WithStartTimeout(cfg.startTimeout),
		sandbox.WithReadOnlyBindsFrom(func(ctx context.Context) ([]string, error) {
			return probePythonPaths(ctx, cfg.python, cfg.preload)
		}),
	}
	sb, err := sandbox.New(ctx, append(opts, cfg.sandbox...)...)
	if err != nil {
		return nil, err
	}
	return &launch{cfg: cfg, sb: sb, kcfg: string(kcfg)}, nil
}

// command builds the sandboxed process for one interpreter. It lives until
// its owner kills it: no wall-clock limit, the per-call timeouts are the
// Go side's.
func (l *launch) command() *sandbox.Cmd {
	cmd := l.sb.Command(context.Background(), l.cfg.python, "-I", "-B", "-c", kernelSource, l.kcfg)
	cmd.Timeout = 0
	return cmd
}

// probeScript prints, as JSON, the directories the interpreter needs beyond
// libDirs: its standard library and where each preload module is found.
// find_spec on a top-level name locates the module without running it.
const probeScript = `import importlib.util, json, os, sys, sysconfig
paths = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
missing = []
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        missing.append(name)
        continue
    d = os.path.dirname(spec.origin)
    if spec.submodule_search_locations:
        d = os.path.dirname(d)
    paths.add(d)
print(json.dumps({"paths": sorted(paths), "missing": missing}))
`

// probePythonPaths asks the host's interpreter (outside any sandbox; it is
// the operator's own binary) where its standard library and the preloads
// live, so that exactly those directories are bound.
func probePythonPaths(ctx context.Context, python string, preload []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, python, append([]string{"-I", "-c", probeScript}, preload...)...)
	cmd.Env = []string{"LANG=C.UTF-8"}
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("probe %s for its library paths: %w", python, err)
	}
	var res struct {
		Paths   []string `json:"paths"`
		Missing []string `json:"missing"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("probe %s for its library paths: decode %q: %w", python, out, err)
	}
	if len(res.Missing) > 0 {
		return nil, fmt.Errorf("python %s: preload modules not installed: %s", python, strings.Join(res.Missing, ", "))
	}
	var paths []string
	for _, p := range res.Paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && filepath.IsAbs(p) {
			paths = append(paths, filepath.Clean(p))
		}
	}
	return paths, nil
}
