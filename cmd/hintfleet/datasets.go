package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDatasetsCmd is a placeholder until its issue lands.
func newDatasetsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "datasets",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("datasets: not built yet")
		},
	}
}
