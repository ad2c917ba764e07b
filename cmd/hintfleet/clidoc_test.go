package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/hintfleet/hintfleet/internal/golden"
)

// cliDoc renders docs/cli.md from the command tree: every command, with
// its description, and every flag with its default and help, in one
// table. Deprecated and hidden flags are left out.
func cliDoc() []byte {
	var b strings.Builder
	b.WriteString("# hintfleet commands and flags\n\n" +
		"Generated from the command tree by `go test ./cmd/hintfleet -run TestCLIDoc -update`; the test fails\n" +
		"when this file and the commands disagree. `hintfleet COMMAND --help` says the same, with examples.\n\n" +
		"| command | flag | default | what it does |\n|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
	for _, path := range commandPaths(newRootCmd(), nil) {
		c, _, _ := newRootCmd().Find(path)
		fmt.Fprintf(&b, "| `%s` | | | %s |\n", cell(c.CommandPath()), cell(c.Short))
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Deprecated != "" || f.Name == "help" {
				return
			}
			name, usage := pflag.UnquoteUsage(f)
			flag := "--" + f.Name
			if name != "" {
				flag += " " + name
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "false" {
				def = "`" + cell(f.DefValue) + "`"
			}
			fmt.Fprintf(&b, "| | `%s` | %s | %s |\n", flag, def, cell(usage))
		})
	}
	return []byte(b.String())
}

// TestCLIDoc: docs/cli.md is the command tree as it is (rewrite it with
// -update), so that the flag table cannot drift from the code.
func TestCLIDoc(t *testing.T) {
	golden.Check(t, "../../../docs/cli.md", cliDoc())
}
