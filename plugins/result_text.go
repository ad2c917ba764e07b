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

// ExitStatus is the status a command-line caller exits with for this
// result, so scripts can branch on it: the code's own exit status when it
// set one (1-255), else 124 for a timeout (as timeout(1) exits), 137 when
// killed, 1 for any other error kind, 0 when the code ran and exited 0.
func (res ExecResult) ExitStatus() int {
	switch {
	case res.ExitCode > 0:
		return min(res.ExitCode, 255)
	case res.ErrorKind == KindNone:
		return 0
	case res.ErrorKind == KindTimeout:
		return 124
	case res.ErrorKind == KindKilled:
		return 137
	default:
		return 1
	}
}
