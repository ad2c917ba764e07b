// Package mcptest finds, for tests, the reference MCP server that no one
// here wrote: @modelcontextprotocol/server-everything from npm, which `make
// mcp-deps` (part of `make test`) installs under out/mcp-npm at the version
// plugins/mcpbridge/testdata/npm/package-lock.json pins, with the Node.js
// (20 or later) it runs on: Debian's, PATH's, or one fetched from the npm
// registry when those are older (plugins/mcpbridge/testdata/npm/mcp-deps.sh).
package mcptest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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

// Everything returns the command that runs server-everything over stdio,
// on the node `make mcp-deps` chose (at least Node 20, recorded in
// NPMDir/node; PATH's node only where that file is missing). It skips the
// test when make mcp-deps could get neither Node 20 nor the package (no apt,
// no npm registry), or when npm is missing and make mcp-deps never ran;
// otherwise a missing piece fails the test, so CI cannot skip silently.
func Everything(tb testing.TB) []string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, NPMDir)
	if reason, err := os.ReadFile(filepath.Join(dir, "skip")); err == nil {
		tb.Skipf("make mcp-deps could not install the MCP test servers: %s", bytes.TrimSpace(reason))
	}
	script := filepath.Join(dir, everythingScript)
	node, nodeErr := chosenNode(dir)
	_, scriptErr := os.Stat(script)
	if nodeErr == nil && scriptErr == nil {
		tb.Logf("server-everything runs on %s", node)
		return []string{node, script, "stdio"}
	}
	if _, err := exec.LookPath("npm"); err != nil && errors.Is(scriptErr, fs.ErrNotExist) {
		tb.Skipf("npm not found and `make mcp-deps` has not run: the MCP tests against @modelcontextprotocol/server-everything need it (it installs Node.js 20 and the server)")
	}
	if nodeErr != nil {
		tb.Fatalf("no node for the MCP test servers: %v (run `make mcp-deps`)", nodeErr)
	}
	tb.Fatalf("%s missing: run `make mcp-deps` (installs @modelcontextprotocol/server-everything with npm ci)", script)
	return nil
}

// chosenNode is the node recorded in dir/node by make mcp-deps, else PATH's.
func chosenNode(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "node"))
	if errors.Is(err, fs.ErrNotExist) {
		return exec.LookPath("node")
	}
	if err != nil {
		return "", err
	}
	node := string(bytes.TrimSpace(b))
	if _, err := os.Stat(node); err != nil {
		return "", fmt.Errorf("node recorded in %s: %w", filepath.Join(dir, "node"), err)
	}
	return node, nil
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
