package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// LockFile is the file in a data directory whose flock says which process
// owns the directory; it holds the owner's pid and, once its servers run,
// the etcd cluster it serves. The kernel drops the lock when the owner
// exits, however it exits, so a stale file never blocks a restart.
const LockFile = "lock"

// ErrNoLocking: the data directory's file system does not support flock
// (some network file systems), so its owner cannot be known.
var ErrNoLocking = errors.New("the file system does not support locks")

// InUseError: another process owns the data directory. Nothing in it was
// touched.
type InUseError struct {
	Dir string
	// PID is the owner's process id; 0 when it had not written it yet.
	PID int
}

func (e *InUseError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%s is in use by another process (starting up)", e.Dir)
	}
	return fmt.Sprintf("%s is in use by pid %d", e.Dir, e.PID)
}

// dataOwner is the lock file's content.
type dataOwner struct {
	PID int `json:"pid"`
	// EtcdCluster is the id of the etcd cluster whose fleet uses the
	// directory (hex), once known: a coordinator of the same fleet may
	// share it.
	EtcdCluster string `json:"etcd_cluster,omitempty"`
}

// DataLock is a held lock on a data directory. Close releases it.
type DataLock struct {
	f   *os.File
	dir string
	own dataOwner
}

// LockData makes the calling process dir's owner, or returns an
// *InUseError at once (it never waits) when another process is. Call it
// before anything reads or writes dir: `up` takes it before its servers
// open their databases, so a second `up` on the same dir exits instead of
// hanging on etcd's database or removing the first one's endpoints file.
func LockData(dir string) (*DataLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			own, _ := readOwner(path)
			return nil, &InUseError{Dir: dir, PID: own.PID}
		}
		if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) {
			return nil, fmt.Errorf("lock %s: %w (%w)", dir, ErrNoLocking, err)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	l := &DataLock{f: f, dir: dir, own: dataOwner{PID: os.Getpid()}}
	if err := l.write(); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// SetEtcdCluster records the etcd cluster the owner's fleet runs on, so
// that coordinator replicas of that fleet may share the directory
// (JoinData).
func (l *DataLock) SetEtcdCluster(ctx context.Context, cli *clientv3.Client) error {
	id, err := EtcdClusterID(ctx, cli)
	if err != nil {
		return err
	}
	l.own.EtcdCluster = id
	return l.write()
}

func (l *DataLock) write() error {
	b, _ := json.Marshal(l.own)
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("lock %s: %w", l.dir, err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("lock %s: %w", l.dir, err)
	}
	return nil
}

// Close releases the lock. The file stays; its content means nothing
// without the flock.
func (l *DataLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}

// JoinData is LockData for a coordinator replica: replicas of one fleet
// share the data directory (invariant 7), so when dir is owned by a
// process whose fleet runs on the same etcd cluster as cli, JoinData
// returns a nil lock and no error. An owner of another fleet (or one that
// has not said which yet) is an *InUseError: a coordinator leading there
// would write another fleet's job files. When dir is free, the caller
// becomes its owner. On a file system without locks (a shared volume of
// the replicas, on some NFS servers) nothing can be told and JoinData
// returns nil, nil: replicas must not be kept from their shared --data.
func JoinData(ctx context.Context, dir string, cli *clientv3.Client) (*DataLock, error) {
	l, err := LockData(dir)
	if errors.Is(err, ErrNoLocking) {
		return nil, nil
	}
	var inUse *InUseError
	if errors.As(err, &inUse) {
		own, rerr := readOwner(filepath.Join(dir, LockFile))
		mine, ierr := EtcdClusterID(ctx, cli)
		if rerr == nil && ierr == nil && own.EtcdCluster != "" && own.EtcdCluster == mine {
			return nil, nil
		}
		if ierr != nil {
			return nil, errors.Join(err, ierr)
		}
		return nil, fmt.Errorf("%w, on another etcd cluster than this coordinator's", err)
	}
	if err != nil {
		return nil, err
	}
	if err := l.SetEtcdCluster(ctx, cli); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

func readOwner(path string) (dataOwner, error) {
	var own dataOwner
	b, err := os.ReadFile(path)
	if err != nil {
		return own, err
	}
	err = json.Unmarshal(b, &own)
	return own, err
}

// EtcdClusterID is the id of the etcd cluster cli talks to, in hex: it
// tells two fleets apart whatever addresses they are reached by.
func EtcdClusterID(ctx context.Context, cli *clientv3.Client) (string, error) {
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return "", fmt.Errorf("etcd cluster id: %w", err)
	}
	return strconv.FormatUint(resp.Header.ClusterId, 16), nil
}
