package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TermFile is the output's fencing token in DataDir: the election revision
// of the newest leader, written by that leader before it reads or writes
// any output file, and read by every leader before each append. A leader
// that finds a newer term there has been replaced and writes nothing.
const TermFile = "term"

// termWidth is the token's fixed width (an int64 in decimal, zero-padded,
// and a newline): one write of that size replaces it whole, so a reader
// never sees a torn token.
const termWidth = 20

// term is one leadership term and the fence of every write it makes. In
// etcd, a write is a transaction that compares the election key's create
// revision (the key is the replica's campaign key, bound to its election
// session's lease): once the lease expires the key is gone and the
// compare fails, whatever the replica believes. On the shared output, the
// revision is the token in TermFile (see bump and check).
type term struct {
	key  string // the election key this replica campaigned with
	rev  int64  // its create revision: the term's number, increasing across terms
	file *os.File
}

// cmp is the etcd condition of every write of the term.
func (t *term) cmp() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

// openTerm bumps the output's token to rev. It fails with ErrFenced if a
// newer term has already bumped it: this replica was replaced before it
// could start. The token file is locked (flock) while it is read and
// written, so two leaders starting at once cannot lower it.
func openTerm(dataDir, key string, rev int64) (*term, error) {
	if err := os.MkdirAll(dataDir, DirMode); err != nil {
		return nil, fmt.Errorf("open term token: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, TermFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open term token: %w", err)
	}
	t := &term{key: key, rev: rev, file: f}
	if err := t.bump(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return t, nil
}

func (t *term) bump() error {
	switch err := syscall.Flock(int(t.file.Fd()), syscall.LOCK_EX); {
	case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EOPNOTSUPP):
		// A file system without locks (some NFS volumes): bump unlocked.
		// A stale leader could then lower the token only in the instant
		// both bump; the leader it lowered fails its next check, ends its
		// term and bumps again under a newer one, and the stale one is
		// refused by etcd meanwhile.
	case err != nil:
		return fmt.Errorf("lock term token: %w", err)
	default:
		defer func() { _ = syscall.Flock(int(t.file.Fd()), syscall.LOCK_UN) }()
	}
	cur, err := readToken(t.file)
	if err != nil {
		return err
	}
	if cur > t.rev {
		return fmt.Errorf("%w: output token is term %d, this replica's is %d", ErrFenced, cur, t.rev)
	}
	if _, err := t.file.WriteAt(fmt.Appendf(nil, "%0*d\n", termWidth, t.rev), 0); err != nil {
		return fmt.Errorf("write term token: %w", err)
	}
	if err := t.file.Sync(); err != nil {
		return fmt.Errorf("write term token: %w", err)
	}
	return nil
}

// readToken returns the token in f; 0 when the file is new.
func readToken(f *os.File) (int64, error) {
	b := make([]byte, termWidth+1)
	n, err := f.ReadAt(b, 0)
	if n == 0 {
		return 0, nil
	}
	s := strings.TrimSpace(string(b[:n]))
	v, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil {
		if err != nil {
			return 0, fmt.Errorf("read term token: %w", err)
		}
		return 0, fmt.Errorf("read term token: %q: %w", s, perr)
	}
	return v, nil
}

// check fails with ErrFenced unless the output's token is still this
// term's. Every append to an output file is preceded by it: a leader that
// was frozen past its election TTL and resumes finds the successor's token
// and writes nothing. What it cannot cover is a process frozen between the
// check and the write (one system call later); no check by the writer
// alone can, on a plain shared file system.
func (t *term) check() error {
	// Opened afresh each time: on a network file system, opening is what
	// revalidates a cached file (close-to-open consistency).
	f, err := os.Open(t.file.Name())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFenced, err)
	}
	defer f.Close()
	cur, err := readToken(f)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFenced, err)
	}
	if cur != t.rev {
		return fmt.Errorf("%w: output token is term %d, this replica's is %d", ErrFenced, cur, t.rev)
	}
	return nil
}

func (t *term) close() error { return t.file.Close() }

// fencedTxn commits then if t's election key still holds and every cond
// holds. It returns ErrFenced when the term is over, and ok false when only
// a cond failed. A nil t commits unfenced (tests of the pieces).
func fencedTxn(ctx context.Context, cli *clientv3.Client, t *term, conds []clientv3.Cmp, then ...clientv3.Op) (ok bool, err error) {
	var orElse []clientv3.Op
	if t != nil {
		conds = append(conds, t.cmp())
		orElse = append(orElse, clientv3.OpGet(t.key))
	}
	resp, err := cli.Txn(ctx).If(conds...).Then(then...).Else(orElse...).Commit()
	if err != nil {
		return false, err
	}
	if resp.Succeeded {
		return true, nil
	}
	if t != nil {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != t.rev {
			return false, fmt.Errorf("%w: election key %s of term %d is gone", ErrFenced, t.key, t.rev)
		}
	}
	return false, nil
}

// checker is t's check for an output store, counting refusals.
func (c *Coordinator) checker(t *term) func() error {
	return func() error { return c.countFenced(t.check()) }
}

// countFenced counts err in hintfleet_writes_fenced_total when it is
// ErrFenced, and returns it.
func (c *Coordinator) countFenced(err error) error {
	if isFenced(err) {
		c.metrics.fenced.Inc()
	}
	return err
}

// isFenced tells an error that ends the term from one worth a retry.
func isFenced(err error) bool { return errors.Is(err, ErrFenced) }
