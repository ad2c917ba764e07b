package plugins

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText prints the result for people: stdout and stderr in marked
// sections (truncation said), then the exit status, error kind and time.
func (res ExecResult) WriteText(w io.Writer) error {
	trunc := func(b bool) string {
		if b {
			return " (truncated)"
		}
		return ""
	}
	kind := string(res.ErrorKind)
	if kind == "" {
		kind = "none"
	}
	_, err := fmt.Fprintf(w, "--- stdout%s\n%s--- stderr%s\n%s--- exit %d, kind %s, %v\n",
		trunc(res.StdoutTruncated), withNewline(res.Stdout), trunc(res.StderrTruncated), withNewline(res.Stderr),
		res.ExitCode, kind, res.Duration.Round(time.Microsecond))
	if err == nil && res.Error != "" {
		_, err = fmt.Fprintf(w, "--- error: %s\n", res.Error)
	}
	return err
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
