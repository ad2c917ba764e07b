package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hintfleet/hintfleet/trajectory"
)

// readProblemsFile reads problems_path, the one way a job names a file on
// the coordinator's host, and only inside dir: rel must be a local path
// (no "..", not absolute), is opened through an os.Root so no symlink
// leads out of dir, must be a regular file (not a FIFO that would hang the
// request, not /dev/zero), at most maxBytes long, and is read under ctx.
// Errors name the field and the path the caller gave, never what the file
// holds nor what lies outside dir.
func readProblemsFile(ctx context.Context, dir, rel string, maxBytes int64, opts []trajectory.LoadOption) ([]trajectory.Problem, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: field \"problems_path\": %q: %s", specName, rel, fmt.Sprintf(format, args...))
	}
	if dir == "" {
		return nil, bad("this coordinator reads no files from its host (start it with a problems directory); send problems_jsonl or name a dataset")
	}
	if !filepath.IsLocal(rel) {
		return nil, bad("want a path relative to the problems directory, without \"..\"")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open problems directory: %w", err)
	}
	defer root.Close()
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
	// below as not a regular file.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, bad("no such file in the problems directory")
	case err != nil:
		return nil, bad("cannot be opened, or leads out of the problems directory")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, bad("cannot be read")
	}
	if !st.Mode().IsRegular() {
		return nil, bad("not a regular file")
	}
	if st.Size() > maxBytes {
		return nil, bad("%d bytes, over the cap of %d", st.Size(), maxBytes)
	}
	lr := &io.LimitedReader{R: f, N: maxBytes + 1}
	ps, err := loadProblemsFrom(ctx, lr, rel, opts, true)
	if lr.N <= 0 {
		return nil, bad("grew past the cap of %d bytes while read", maxBytes)
	}
	return ps, err
}
