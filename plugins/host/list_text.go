package host

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteList prints infos as a table, one plugin a row, for people.
func WriteList(w io.Writer, infos []PluginInfo) error {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tLANGUAGES\tCHECKSUM\tHEALTHY\tRESTARTS\tPATH")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%d\t%s\n", in.Name, dash(in.Version), dash(strings.Join(in.Languages, ",")),
			in.Checksum, in.Healthy, in.Restarts, in.Path)
	}
	return tw.Flush()
}

// ListErr joins, one per plugin that is down, why it is; nil when every
// plugin in infos runs.
func ListErr(infos []PluginInfo) error {
	var errs []error
	for _, in := range infos {
		if in.Error != "" {
			errs = append(errs, fmt.Errorf("plugin %s: %s", in.Name, in.Error))
		}
	}
	return errors.Join(errs...)
}
