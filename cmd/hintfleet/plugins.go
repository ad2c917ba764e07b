package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
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
	cmd.Flags().StringVar(&f.dir, "dir", "", "directory of plugin executables, checksums from its SHA256SUMS (default: plugins/ next to the binary, else ../lib/hintfleet/plugins from it, else ./bin/plugins)")
	cmd.Flags().StringVar(&f.config, "config", "", "plugin list file (YAML or JSON: [{name, path, sha256, args, env}]); overrides --dir")
	cmd.Flags().BoolVar(&f.insecureSkip, "insecure-skip-checksum", false, "run plugins without checking their SHA-256 (development only)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// specs resolves the flags to a plugin list.
func (f *pluginFlags) specs() ([]host.PluginConfig, error) { return host.Resolve(f.dir, f.config) }

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
			if f.jsonOut {
				return printJSON(cmd.OutOrStdout(), infos)
			}
			if err := host.WriteList(cmd.OutOrStdout(), infos); err != nil {
				return err
			}
			return host.ListErr(infos)
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
		Short: "Run code (--code, or stdin) through the plugin for a fence language; exits with the code's status",
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
			tool, err := m.Lookup(args[0])
			if err != nil {
				return err
			}
			sess, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "cli", Stateless: true})
			if err != nil {
				return err
			}
			defer tool.Close(ctx, sess) //nolint:errcheck // best effort; the plugin is stopped next
			res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: code, Timeout: timeout, Lang: strings.ToLower(args[0])})
			if err != nil {
				return err
			}
			if f.jsonOut {
				err = printJSON(cmd.OutOrStdout(), res)
			} else {
				err = res.WriteText(cmd.OutOrStdout())
			}
			if st := res.ExitStatus(); err == nil && st != 0 {
				return exitStatus(st) // the code's own status; the result says why
			}
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&code, "code", "", "code to run (default: read stdin)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "wall-clock limit for the call (default: the tool's)")
	return cmd
}
