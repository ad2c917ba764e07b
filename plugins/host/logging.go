package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger returns the hclog.Logger go-plugin wants, writing JSON lines
// into w, which re-logs them through slog. go-plugin also relays a plugin's
// stderr through it, so a plugin's logs land in the host's log with the
// plugin's name attached.
func newHCLogger(logger *slog.Logger, plugin string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      hclog.Debug,
		JSONFormat: true,
		Output:     &slogWriter{logger: logger.With("plugin", plugin)},
	})
}

// slogWriter turns hclog JSON lines into slog records. hclog writes one
// whole line per Write, under its own lock; the mutex guards buf anyway.
type slogWriter struct {
	logger *slog.Logger
	mu     sync.Mutex
	buf    []byte
}

func (w *slogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func (w *slogWriter) emit(line []byte) {
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		w.logger.Info("plugin log", "line", string(line))
		return
	}
	level := slog.LevelInfo
	switch rec["@level"] {
	case "trace", "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	msg, _ := rec["@message"].(string)
	attrs := []slog.Attr{slog.String("msg_text", msg)}
	for k, v := range rec {
		if len(k) > 0 && k[0] == '@' {
			continue
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	w.logger.LogAttrs(context.Background(), level, "plugin log", attrs...)
}
