package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Canonical flag names for concepts more than one command takes: the
// spelling most commands used. A command that spelled a concept
// differently keeps its old name as a hidden, deprecated alias for one
// release (see deprecatedAlias), so scripts keep working with a warning.
const (
	flagDatasetsDir   = "datasets-dir"
	flagPluginsDir    = "plugins-dir"
	flagPluginsConfig = "plugins-config"
	flagSimulateGPUs  = "simulate-gpus"
)

// deprecatedAlias registers old as a second spelling of cmd's already
// defined flag name: it sets the same value and is left out of help and
// docs/cli.md. Using it warns on stderr. pflag's own Deprecated field is
// not used because cobra prints its warning to the command's output,
// which is stdout here, and would break --json for exactly the scripts
// the alias keeps working.
func deprecatedAlias(cmd *cobra.Command, old, name string) {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		panic(fmt.Sprintf("deprecatedAlias: no flag --%s to alias as --%s", name, old))
	}
	cmd.Flags().AddFlag(&pflag.Flag{
		Name:        old,
		Usage:       "deprecated: use --" + name,
		Value:       &aliasValue{Value: f.Value, cmd: cmd, old: old, name: name},
		DefValue:    f.DefValue,
		NoOptDefVal: f.NoOptDefVal,
		Hidden:      true,
	})
}

// aliasValue is an old flag spelling: it sets the canonical flag's value
// and warns that the spelling is going away.
type aliasValue struct {
	pflag.Value
	cmd       *cobra.Command
	old, name string
}

func (a *aliasValue) Set(s string) error {
	fmt.Fprintf(a.cmd.ErrOrStderr(), "Flag --%s has been deprecated, use --%s instead\n", a.old, a.name)
	return a.Value.Set(s)
}
