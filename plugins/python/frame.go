package python

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// request is one frame to the kernel (kernel.py).
type request struct {
	ID    uint64 `json:"id"`
	Code  string `json:"code"`
	Reset bool   `json:"reset,omitempty"`
}

// response is one frame from the kernel: the ready frame or a call's result.
type response struct {
	Ready           bool   `json:"ready,omitempty"`
	PID             int    `json:"pid,omitempty"`
	ID              uint64 `json:"id"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StderrTruncated bool   `json:"stderr_truncated"`
	ExitCode        int    `json:"exit_code"`
	Kind            string `json:"kind"`
	Error           string `json:"error"`
	DurationNS      int64  `json:"duration_ns"`
}

// maxFrame bounds a response frame for a given output cap: two streams of
// at most outputBytes each, which JSON escaping can grow up to six times
// (control bytes become \u00XX), plus room for the other fields. The Go side
// never reads more than this, whatever the sandboxed code writes to fd 4.
func maxFrame(outputBytes int64) int64 {
	return 12*outputBytes + 64<<10
}

// writeFrame writes v as one length-prefixed JSON frame.
func writeFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(body) > 1<<31 {
		return fmt.Errorf("encode frame: %d bytes is too large", len(body))
	}
	buf := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	if _, err := w.Write(append(buf, body...)); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// readFrame reads one frame of at most limit bytes into resp. A frame over
// the limit or not JSON is errProtocol; io.EOF means the peer is gone.
func readFrame(r io.Reader, limit int64, resp *response) error {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return err
	}
	n := int64(binary.BigEndian.Uint32(head[:]))
	if n > limit {
		return fmt.Errorf("%w: frame of %d bytes exceeds %d", errProtocol, n, limit)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	*resp = response{}
	if err := json.Unmarshal(body, resp); err != nil {
		return fmt.Errorf("%w: %v", errProtocol, err)
	}
	return nil
}

// result turns a kernel response into the plugins.ExecResult the host sees,
// clamping what the sandbox claims to what the host allows.
func (r *response) result(outputBytes int64, wall time.Duration) plugins.ExecResult {
	res := plugins.ExecResult{
		Stdout:          strings.ToValidUTF8(r.Stdout, "\uFFFD"),
		Stderr:          strings.ToValidUTF8(r.Stderr, "\uFFFD"),
		ExitCode:        r.ExitCode,
		StdoutTruncated: r.StdoutTruncated,
		StderrTruncated: r.StderrTruncated,
		Duration:        wall,
		Error:           r.Error,
	}
	// The kernel caps bytes before decoding; invalid bytes decode to U+FFFD
	// (three bytes each), so an honest kernel stays within 3x the cap.
	res.Stdout, res.StdoutTruncated = clamp(res.Stdout, 3*outputBytes, res.StdoutTruncated)
	res.Stderr, res.StderrTruncated = clamp(res.Stderr, 3*outputBytes, res.StderrTruncated)
	switch k := plugins.ErrorKind(r.Kind); k {
	case plugins.KindNone, plugins.KindMemory, plugins.KindOutputLimit, plugins.KindTimeout:
		res.ErrorKind = k
	default:
		res.ErrorKind = plugins.KindInternal
		res.Error = fmt.Sprintf("kernel reported kind %q: %s", r.Kind, r.Error)
	}
	if res.ErrorKind == plugins.KindNone && (res.StdoutTruncated || res.StderrTruncated) {
		res.ErrorKind = plugins.KindOutputLimit
		res.Error = fmt.Sprintf("output truncated to %d bytes", outputBytes)
	}
	return res
}

// clamp cuts s to at most n bytes on a rune boundary.
func clamp(s string, n int64, truncated bool) (string, bool) {
	if int64(len(s)) <= n {
		return s, truncated
	}
	cut := int(n)
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
