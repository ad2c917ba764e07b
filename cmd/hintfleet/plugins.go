package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPluginsCmd is a placeholder until its issue lands.
func newPluginsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "plugins",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("plugins: not built yet")
		},
	}
}
