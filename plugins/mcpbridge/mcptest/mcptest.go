// Package mcptest finds, for tests, the reference MCP server that no one
// here wrote: @modelcontextprotocol/server-everything from npm, which `make
// mcp-deps` (part of `make test`) installs under out/mcp-npm at the version
// plugins/mcpbridge/testdata/npm/package-lock.json pins.
package mcptest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NPMDir is where `make mcp-deps` installs the servers, from the repository
// root.
const NPMDir = "out/mcp-npm"

// everythingScript is server-everything's entry point inside NPMDir.
const everythingScript = "node_modules/@modelcontextprotocol/server-everything/dist/index.js"

// Everything returns the command that runs server-everything over stdio.
// It skips the test when Node.js or the package is missing and npm is too
// (make mcp-deps says the same); with npm present the package must have been
// installed, so its absence fails the test.
func Everything(tb testing.TB) []string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	script := filepath.Join(root, NPMDir, everythingScript)
	node, nodeErr := exec.LookPath("node")
	_, scriptErr := os.Stat(script)
	if nodeErr == nil && scriptErr == nil {
		return []string{node, script, "stdio"}
	}
	if _, err := exec.LookPath("npm"); err != nil {
		tb.Skipf("npm not found: the MCP tests against @modelcontextprotocol/server-everything need Node.js 20+ with npm, then `make mcp-deps`")
	}
	if nodeErr != nil {
		tb.Fatalf("npm is installed but node is not on PATH: %v", nodeErr)
	}
	tb.Fatalf("%s missing: run `make mcp-deps` (installs @modelcontextprotocol/server-everything with npm ci)", script)
	return nil
}

// Config writes a bridge config serving server-everything's tools (all of
// them, or only those named) into dir and returns its path.
func Config(tb testing.TB, dir string, tools ...string) string {
	tb.Helper()
	cmd := Everything(tb)
	var b bytes.Buffer
	b.WriteString("servers:\n  - name: everything\n    command: [")
	for i, a := range cmd {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(a))
	}
	b.WriteString("]\n")
	if len(tools) > 0 {
		b.WriteString("    tools: [")
		for i, t := range tools {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(t))
		}
		b.WriteString("]\n")
	}
	path := filepath.Join(dir, "mcp.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// quote writes s as a YAML double-quoted scalar.
func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// repoRoot is the nearest directory above the working directory holding
// go.mod: the repository root for any package's test.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("mcptest: no go.mod above the working directory")
		}
		dir = parent
	}
}
