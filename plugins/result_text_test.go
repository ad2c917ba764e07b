package plugins_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

func TestExecResultWriteText(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  plugins.ExecResult
		want string
	}{
		{"ok", plugins.ExecResult{Stdout: "4", Duration: 1500 * time.Microsecond},
			"--- stdout\n4\n--- stderr\n--- exit 0, kind none, 1.5ms\n"},
		{"timeout, truncated", plugins.ExecResult{Stdout: "x\n", StdoutTruncated: true, Stderr: "killed", ExitCode: -1,
			ErrorKind: plugins.KindTimeout, Error: "wall-clock limit", Duration: time.Second},
			"--- stdout (truncated)\nx\n--- stderr\nkilled\n--- exit -1, kind timeout, 1s\n--- error: wall-clock limit\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.res.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}
