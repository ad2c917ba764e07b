package coordinator

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReadProblemsFileRefusals covers what the API suite cannot reach: no
// problems directory configured (the default: no file path from the
// network is opened at all), a character device named inside the
// directory, and a request whose context ended.
func TestReadProblemsFileRefusals(t *testing.T) {
	for _, tt := range []struct {
		name, dir, rel, want string
	}{
		{"no directory configured", "", "problems.jsonl", "reads no files from its host"},
		{"/dev/zero in the directory", "/dev", "zero", "not a regular file"},
		{"/dev/null in the directory", "/dev", "null", "not a regular file"},
		{"empty path", t.TempDir(), "", "want a path relative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readProblemsFile(context.Background(), tt.dir, tt.rel, 1<<20, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `field "problems_path"`) {
				t.Errorf("got %v, want an error naming problems_path and %q", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := loadProblemsFrom(ctx, strings.NewReader(`{"id":"a","question":"q","answer":"1"}`+"\n"), "x", nil, true)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read under a cancelled context: %v, want context.Canceled", err)
	}
}
