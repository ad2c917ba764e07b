package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/plugins/host"
)

// pluginFlags are the plugins commands' flags: which plugins to load,
// and --json.
type pluginFlags struct {
	src     host.Source
	jsonOut bool
}

func (f *pluginFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.src.Dir, flagPluginsDir, "", "directory of plugin executables, checksums from its SHA256SUMS (default: plugins/ next to the binary, else ../lib/hintfleet/plugins from it, else ./bin/plugins)")
	cmd.Flags().StringVar(&f.src.Config, flagPluginsConfig, "", "plugin list file (YAML or JSON: [{name, path, sha256, args, env}]); overrides --"+flagPluginsDir)
	deprecatedAlias(cmd, "dir", flagPluginsDir)
	deprecatedAlias(cmd, "config", flagPluginsConfig)
	cmd.Flags().BoolVar(&f.src.InsecureSkipChecksum, "insecure-skip-checksum", false, "run plugins without checking their SHA-256 (development only)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// registerPluginSource binds which plugins infer and the workers load to
// src.
func registerPluginSource(cmd *cobra.Command, src *host.Source) {
	fl := cmd.Flags()
	fl.StringVar(&src.Dir, flagPluginsDir, "", "directory of tool plugins with SHA256SUMS (default: plugins/ beside the binary, else ../lib/hintfleet/plugins from it, else ./bin/plugins)")
	fl.StringVar(&src.Config, flagPluginsConfig, "", "plugin list file; overrides --"+flagPluginsDir)
	fl.BoolVar(&src.InsecureSkipChecksum, "insecure-skip-checksum", false, "run plugins without checking their SHA-256 (development only)")
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
			infos, err := f.src.List(cmd.Context(), warnLogger(cmd))
			if err != nil {
				return err
			}
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
			var stdin io.Reader
			if !cmd.Flags().Changed("code") {
				stdin = cmd.InOrStdin()
			}
			res, err := f.src.ExecOnce(cmd.Context(), warnLogger(cmd), args[0], code, stdin, timeout)
			if err != nil {
				return err
			}
			err = write(cmd.OutOrStdout(), f.jsonOut, res, res.WriteText)
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
