package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
)

// DefaultDir is where plugins are looked for when no directory or list
// file is named: plugins/ beside the running binary (bin/hintfleet →
// bin/plugins, where `make plugins` puts them), else
// ../lib/hintfleet/plugins from it (/usr/bin/hintfleet →
// /usr/lib/hintfleet/plugins, the image's layout), else ./bin/plugins.
func DefaultDir() string {
	if exe, err := os.Executable(); err == nil {
		for _, dir := range []string{
			filepath.Join(filepath.Dir(exe), "plugins"),
			filepath.Join(filepath.Dir(exe), "..", "lib", "hintfleet", "plugins"),
		} {
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				return filepath.Clean(dir)
			}
		}
	}
	return filepath.Join("bin", "plugins")
}

// Resolve returns the plugin list a process runs: the list file when one
// is named (LoadConfigFile), else the plugins discovered in dir, or in
// DefaultDir when dir is empty (Discover).
func Resolve(dir, listFile string) ([]PluginConfig, error) {
	if listFile != "" {
		return LoadConfigFile(listFile)
	}
	if dir == "" {
		dir = DefaultDir()
	}
	return Discover(dir)
}

// Source says which plugins a process runs, as the command line says it:
// a directory with SHA256SUMS, or a list file that overrides it, and
// whether checksums are skipped (development only). Its zero value runs
// the plugins of DefaultDir.
type Source struct {
	Dir                  string
	Config               string
	InsecureSkipChecksum bool
}

// Start resolves s (Resolve) and starts the plugins (New) with log as
// their logger and extra options after it. The caller closes the Manager.
func (s Source) Start(ctx context.Context, log *slog.Logger, extra ...Option) (*Manager, error) {
	specs, err := Resolve(s.Dir, s.Config)
	if err != nil {
		return nil, err
	}
	opts := append([]Option{WithLogger(log)}, extra...)
	if s.InsecureSkipChecksum {
		opts = append(opts, InsecureSkipChecksum())
	}
	return New(ctx, specs, opts...)
}
