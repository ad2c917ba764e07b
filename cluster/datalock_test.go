package cluster_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

// envLockHolder makes the test binary a process that owns a data directory
// (TestLockHolderProcess) until its stdin closes.
const envLockHolder = "HINTFLEET_TEST_LOCK_HOLDER"

// TestLockHolderProcess is not a test: run as a child by TestLockDataTwoProcesses,
// it takes the lock, says so on stdout and holds it until stdin closes.
func TestLockHolderProcess(t *testing.T) {
	dir := os.Getenv(envLockHolder)
	if dir == "" {
		t.Skip("helper process only")
	}
	l, err := cluster.LockData(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	_ = l.Close()
	os.Exit(0)
}

// TestLockDataTwoProcesses: while one process owns a directory, another
// gets "DIR is in use by pid N" at once with the owner's pid, and nothing in
// the directory changes; once the owner exits, the directory is free.
func TestLockDataTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, cluster.EndpointsFile)
	if err := os.WriteFile(keep, []byte(`{"pid": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	child.Env = append(os.Environ(), envLockHolder+"="+dir)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = child.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("child said %q, %v; want locked", line, err)
	}

	_, err = cluster.LockData(dir)
	var inUse *cluster.InUseError
	if !errors.As(err, &inUse) || inUse.PID != child.Process.Pid {
		t.Fatalf("LockData while the child holds it: %v, want *InUseError with pid %d", err, child.Process.Pid)
	}
	if want := fmt.Sprintf("%s is in use by pid %d", dir, child.Process.Pid); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != `{"pid": 1}` {
		t.Errorf("the owner's file changed: %q, %v", b, err)
	}

	_ = stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	l, err := cluster.LockData(dir)
	if err != nil {
		t.Fatalf("LockData after the owner exited: %v", err)
	}
	_ = l.Close()
}

// TestLockDataInProcess: two owners in one process exclude each other too
// (flock is per open file), and Close frees the directory.
func TestLockDataInProcess(t *testing.T) {
	dir := t.TempDir()
	a, err := cluster.LockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.LockData(dir); err == nil || err.Error() != fmt.Sprintf("%s is in use by pid %d", dir, os.Getpid()) {
		t.Fatalf("second owner: %v, want in use by this pid", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := cluster.LockData(dir)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	_ = b.Close()
}

// TestJoinData: a coordinator of the owner's fleet (same etcd cluster)
// shares the directory; one of another fleet is refused with the owner's
// pid; on a free directory the joiner becomes the owner.
func TestJoinData(t *testing.T) {
	ctx := testCtx(t)
	mine, other := clustertest.Start(t), clustertest.Start(t)
	dir := t.TempDir()
	owner, err := cluster.LockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.SetEtcdCluster(ctx, mine.Conn.Etcd); err != nil {
		t.Fatal(err)
	}
	if l, err := cluster.JoinData(ctx, dir, mine.Conn.Etcd); err != nil || l != nil {
		t.Errorf("JoinData of the same fleet: lock %v, %v; want shared (nil, nil)", l, err)
	}
	_, err = cluster.JoinData(ctx, dir, other.Conn.Etcd)
	var inUse *cluster.InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() || !strings.Contains(err.Error(), "on another etcd cluster") {
		t.Errorf("JoinData of another fleet: %v, want in use by pid %d, on another etcd cluster", err, os.Getpid())
	}
	_ = owner.Close()
	l, err := cluster.JoinData(ctx, dir, other.Conn.Etcd)
	if err != nil || l == nil {
		t.Fatalf("JoinData on a free directory: %v, %v; want the lock", l, err)
	}
	defer l.Close()
	if _, err := cluster.JoinData(ctx, dir, mine.Conn.Etcd); !errors.As(err, &inUse) {
		t.Errorf("the first fleet joining the second's directory: %v, want in use", err)
	}
}
