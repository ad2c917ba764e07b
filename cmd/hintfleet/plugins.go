package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/host"
)

// pluginFlags are the flags that say which plugins to load.
type pluginFlags struct {
	dir          string
	config       string
	insecureSkip bool
	jsonOut      bool
}

func (f *pluginFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "dir", "", "directory of plugin executables, checksums from its SHA256SUMS (default: plugins/ next to the binary, else ./bin/plugins)")
	cmd.Flags().StringVar(&f.config, "config", "", "plugin list file (YAML or JSON: [{name, path, sha256, args, env}]); overrides --dir")
	cmd.Flags().BoolVar(&f.insecureSkip, "insecure-skip-checksum", false, "run plugins without checking their SHA-256 (development only)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// specs resolves the flags to a plugin list.
func (f *pluginFlags) specs() ([]host.PluginConfig, error) {
	if f.config != "" {
		return host.LoadConfigFile(f.config)
	}
	dir := f.dir
	if dir == "" {
		dir = defaultPluginDir()
	}
	return host.Discover(dir)
}

// defaultPluginDir is plugins/ beside the running binary (bin/hintfleet →
// bin/plugins, where `make plugins` puts them), else ./bin/plugins.
func defaultPluginDir() string {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Join(filepath.Dir(exe), "plugins")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	return filepath.Join("bin", "plugins")
}

func (f *pluginFlags) options(stderr io.Writer, extra ...host.Option) []host.Option {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := append([]host.Option{host.WithLogger(logger)}, extra...)
	if f.insecureSkip {
		opts = append(opts, host.InsecureSkipChecksum())
	}
	return opts
}

func newPluginsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List tool plugins and run code through them",
	}
	cmd.AddCommand(newPluginsListCmd(), newPluginsExecCmd())
	return cmd
}

func newPluginsListCmd() *cobra.Command {
	var f pluginFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Start every plugin, check it, and print name, version, languages, checksum state and health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs, err := f.specs()
			if err != nil {
				return err
			}
			m, err := host.New(cmd.Context(), specs, f.options(cmd.ErrOrStderr(), host.KeepGoing())...)
			if err != nil {
				return err
			}
			defer m.Close()
			infos := m.List(cmd.Context())
			out := cmd.OutOrStdout()
			if f.jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tLANGUAGES\tCHECKSUM\tHEALTHY\tRESTARTS\tPATH")
			for _, in := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%d\t%s\n", in.Name, dash(in.Version), dash(strings.Join(in.Languages, ",")), in.Checksum, in.Healthy, in.Restarts, in.Path)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			var errs []error
			for _, in := range infos {
				if in.Error != "" {
					errs = append(errs, fmt.Errorf("plugin %s: %s", in.Name, in.Error))
				}
			}
			return errors.Join(errs...)
		},
	}
	f.register(cmd)
	return cmd
}

func newPluginsExecCmd() *cobra.Command {
	var (
		f       pluginFlags
		code    string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "exec LANG",
		Short: "Run code (--code, or stdin) through the plugin for a fence language",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("code") {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read code from stdin: %w", err)
				}
				code = string(b)
			}
			specs, err := f.specs()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			m, err := host.New(ctx, specs, f.options(cmd.ErrOrStderr())...)
			if err != nil {
				return err
			}
			defer m.Close()
			tool, ok := m.Tool(args[0])
			if !ok {
				return fmt.Errorf("%w %q (have %s)", host.ErrNoTool, args[0], strings.Join(m.Languages(), ", "))
			}
			sess, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "cli", Stateless: true})
			if err != nil {
				return err
			}
			defer tool.Close(ctx, sess) //nolint:errcheck // best effort; the plugin is stopped next
			res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: code, Timeout: timeout})
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), res, f.jsonOut)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&code, "code", "", "code to run (default: read stdin)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "wall-clock limit for the call (default: the tool's)")
	return cmd
}

func printResult(w io.Writer, res plugins.ExecResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	trunc := func(b bool) string {
		if b {
			return " (truncated)"
		}
		return ""
	}
	kind := string(res.ErrorKind)
	if kind == "" {
		kind = "none"
	}
	_, err := fmt.Fprintf(w, "--- stdout%s\n%s--- stderr%s\n%s--- exit %d, kind %s, %v\n",
		trunc(res.StdoutTruncated), withNewline(res.Stdout), trunc(res.StderrTruncated), withNewline(res.Stderr),
		res.ExitCode, kind, res.Duration.Round(time.Microsecond))
	if err == nil && res.Error != "" {
		_, err = fmt.Fprintf(w, "--- error: %s\n", res.Error)
	}
	return err
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
