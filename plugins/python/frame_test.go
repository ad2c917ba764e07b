package python

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hintfleet/hintfleet/plugins"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := response{ID: 7, Stdout: "héllo\x00\n", ExitCode: 1, Kind: "memory"}
	if err := writeFrame(&buf, want); err != nil {
		t.Fatal(err)
	}
	var got response
	if err := readFrame(&buf, 1<<20, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("round trip = %+v, want %+v", got, want)
	}
}

func TestReadFrameRejects(t *testing.T) {
	frame := func(n uint32, body string) []byte {
		b := binary.BigEndian.AppendUint32(nil, n)
		return append(b, body...)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short head", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"over limit", frame(1<<30, ""), errProtocol},
		{"short body", frame(10, "{}"), io.ErrUnexpectedEOF},
		{"not json", frame(3, "abc"), errProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if err := readFrame(bytes.NewReader(tt.in), 1024, &r); !errors.Is(err, tt.want) {
				t.Errorf("readFrame = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestResultClampsWhatTheSandboxClaims(t *testing.T) {
	tests := []struct {
		name      string
		resp      response
		wantKind  plugins.ErrorKind
		wantTrunc bool
		wantLen   int
	}{
		{"ok", response{Stdout: "2\n"}, plugins.KindNone, false, 2},
		{"oversized stdout is cut", response{Stdout: strings.Repeat("é", 100)}, plugins.KindOutputLimit, true, 30},
		{"truncation flag is kept", response{Stdout: "x", StdoutTruncated: true}, plugins.KindOutputLimit, true, 1},
		{"unknown kind is internal", response{Kind: "pwned"}, plugins.KindInternal, false, 0},
		{"kernel may not claim crashed", response{Kind: "crashed"}, plugins.KindInternal, false, 0},
		{"memory passes", response{Kind: "memory"}, plugins.KindMemory, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.resp.result(10, 0)
			if res.ErrorKind != tt.wantKind || res.StdoutTruncated != tt.wantTrunc || len(res.Stdout) != tt.wantLen || !utf8.ValidString(res.Stdout) {
				t.Errorf("result = kind %q trunc %v len %d (%q), want kind %q trunc %v len %d",
					res.ErrorKind, res.StdoutTruncated, len(res.Stdout), res.Stdout, tt.wantKind, tt.wantTrunc, tt.wantLen)
			}
		})
	}
}

// FuzzReadFrame: whatever the sandbox writes to its protocol fd, the Go
// side reads at most the limit, never panics, and returns valid UTF-8.
func FuzzReadFrame(f *testing.F) {
	var ok bytes.Buffer
	writeFrame(&ok, response{ID: 1, Stdout: "2\n"})
	f.Add(ok.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte("\x00\x00\x00\x13{\"stdout\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var resp response
		if err := readFrame(r, 4096, &resp); err != nil {
			return
		}
		if consumed := len(data) - r.Len(); consumed > 4096+4 {
			t.Fatalf("read %d bytes past a 4096-byte limit", consumed)
		}
		res := resp.result(64, 0)
		if !utf8.ValidString(res.Stdout) || !utf8.ValidString(res.Stderr) || len(res.Stdout) > 3*64 {
			t.Fatalf("result not clamped or not UTF-8: %+v", res)
		}
	})
}
