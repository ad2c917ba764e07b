package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSimEngineCmd is a placeholder until its issue lands.
func newSimEngineCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sim-engine",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("sim-engine: not built yet")
		},
	}
}
