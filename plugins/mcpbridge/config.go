package mcpbridge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultCallTimeout bounds one tool call when neither the host's request
// nor the config says otherwise.
const DefaultCallTimeout = 30 * time.Second

// DefaultOutputBytes caps the text of one result, as the python tool does.
const DefaultOutputBytes = 64 << 10

// Config is the bridge's own configuration file (YAML or JSON), given to the
// plugin as `--config FILE`:
//
//	servers:
//	  - name: everything                 # fences are ```mcp:everything.<tool>
//	    command: [npx, -y, "@modelcontextprotocol/server-everything@2026.8.31"]
//	    env: [LOG_LEVEL=warn]            # added to the plugin's environment
//	    dir: .                           # working directory; default: the file's
//	    tools: [echo, get-sum]           # default: every tool the server lists
//	timeout: 30s                         # per call, unless the host sets one
//	output_bytes: 65536                  # result text beyond this is cut
type Config struct {
	Servers     []Server `yaml:"servers" json:"servers"`
	Timeout     Duration `yaml:"timeout" json:"timeout"`
	OutputBytes int      `yaml:"output_bytes" json:"output_bytes"`
}

// Server is one MCP server the bridge starts and speaks to over stdio.
type Server struct {
	// Name is the server's part of the fence language: lowercase letters,
	// digits, '_' and '-' (no '.', which separates it from the tool).
	Name string `yaml:"name" json:"name"`
	// Command is the program and its arguments. A relative program path
	// with a '/' is resolved against Dir; a bare name is looked up in PATH.
	Command []string `yaml:"command" json:"command"`
	// Env is KEY=VALUE pairs added to the plugin's own environment (which
	// the host already cut down to PATH, LANG, TMPDIR and the plugin's env).
	Env []string `yaml:"env" json:"env"`
	// Dir is the working directory; relative to the config file, whose
	// directory is also the default.
	Dir string `yaml:"dir" json:"dir"`
	// Tools, when set, is the list of the server's tools the bridge serves;
	// a name the server does not list is an error at start. Empty serves
	// every tool the server lists.
	Tools []string `yaml:"tools" json:"tools"`
}

// Duration is a time.Duration written as "30s" in a config file.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: want a duration such as 30s, got %q", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

var serverNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// LoadConfig reads a bridge config file. Decoding is strict: an unknown
// field is an error naming the file and line; every other problem is
// reported at once, each with the line of its server.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read mcp bridge config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses the bytes of a config file; path names it in errors
// and anchors relative directories.
func ParseConfig(path string, data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	lines := serverLines(data)
	base := filepath.Dir(path)
	var errs []error
	if len(cfg.Servers) == 0 {
		errs = append(errs, fmt.Errorf(`%s: field "servers": want at least one server`, path))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf(`%s: field "timeout": must not be negative`, path))
	}
	if cfg.OutputBytes < 0 {
		errs = append(errs, fmt.Errorf(`%s: field "output_bytes": must not be negative`, path))
	}
	seen := map[string]bool{}
	for i := range cfg.Servers {
		s := &cfg.Servers[i]
		where := fmt.Sprintf("%s: server %d", path, i+1)
		if i < len(lines) {
			where = fmt.Sprintf("%s:%d", path, lines[i])
		}
		for _, err := range s.problems() {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf(`%s: field "name": server %q named twice`, where, s.Name))
		}
		seen[s.Name] = true
		if !filepath.IsAbs(s.Dir) {
			s.Dir = filepath.Join(base, s.Dir)
		}
		if len(s.Command) > 0 && strings.Contains(s.Command[0], "/") && !filepath.IsAbs(s.Command[0]) {
			s.Command[0] = filepath.Join(s.Dir, s.Command[0])
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// problems lists what is wrong with s, each on its own.
func (s Server) problems() []error {
	var errs []error
	if !serverNameRE.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf(`field "name": want lowercase letters, digits, '_' or '-', got %q`, s.Name))
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		errs = append(errs, errors.New(`field "command": want [program, args...]`))
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf(`field "env": want KEY=VALUE, got %q`, kv))
		}
	}
	for _, t := range s.Tools {
		if t == "" {
			errs = append(errs, errors.New(`field "tools": empty tool name`))
		}
	}
	return errs
}

// serverLines returns the line of each item of the servers list.
func serverLines(data []byte) []int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) != 1 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "servers" {
			var lines []int
			for _, item := range m.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}

func (c Config) callTimeout() time.Duration {
	if c.Timeout > 0 {
		return time.Duration(c.Timeout)
	}
	return DefaultCallTimeout
}

func (c Config) outputBytes() int {
	if c.OutputBytes > 0 {
		return c.OutputBytes
	}
	return DefaultOutputBytes
}
