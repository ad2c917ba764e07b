// Command hintfleet-mcp is the MCP bridge plugin: it starts the MCP servers
// its config names (stdio), and serves each of their tools as a fence
// language ```mcp:<server>.<tool> whose body is the JSON arguments (see
// package plugins/mcpbridge). The host starts it with `args: [--config,
// FILE]`, or finds mcp.yaml beside the binary; with neither it serves no
// language, so a plugin directory holding it works before any server is
// configured. Run by hand it only says that it is a plugin.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "hintfleet-mcp: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("hintfleet-mcp", flag.ContinueOnError)
	var (
		config   = fs.String("config", "", "the bridge's config file: the MCP servers to start, YAML or JSON (default: "+defaultConfig+" beside the binary, if there is one)")
		startT   = fs.Duration("start-timeout", time.Minute, "how long the servers may take to start and list their tools")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("flag -log-level: %w", err)
	}
	if os.Getenv(plugins.MagicCookieKey) != plugins.MagicCookieValue {
		// Run by hand: let go-plugin say so before any server starts.
		plugins.Serve(nil)
		return nil
	}
	// stdout belongs to go-plugin's handshake; logs and the servers' stderr
	// go to stderr, which the host relays.
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	path := *config
	if path == "" {
		path = besideBinary()
	}
	var cfg mcpbridge.Config
	if path == "" {
		logger.Info("no mcp servers configured: the bridge serves no fence language", "want", "--config FILE or "+defaultConfig+" beside the plugin")
	} else {
		var err error
		if cfg, err = mcpbridge.LoadConfig(path); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *startT)
	defer cancel()
	start := time.Now()
	b, err := mcpbridge.New(ctx, cfg, mcpbridge.WithLogger(logger), mcpbridge.WithServerStderr(os.Stderr))
	if err != nil {
		return err
	}
	d, _ := b.Describe(ctx)
	logger.Info("mcp bridge ready", "tools", len(d.Languages), "startup", time.Since(start))
	plugins.Serve(b)
	return b.Shutdown()
}

// defaultConfig is the config file looked for beside the binary.
const defaultConfig = "mcp.yaml"

// besideBinary returns the default config's path when the file exists.
func besideBinary() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(exe), defaultConfig)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
