package coordinator_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
)

// TestDataDirMustBeShared: the first replica registers its data dir's id;
// a replica on the same folder runs as its standby, and one on another
// folder (a local disk instead of the shared volume) refuses to start with
// an error naming both, so a job's output is never split between disks.
func TestDataDirMustBeShared(t *testing.T) {
	env := clustertest.Start(t)
	shared := t.TempDir()
	r1 := startReplica(t, env, shared, coordinator.Config{})
	waitLeader(t, r1)
	startReplica(t, env, shared, coordinator.Config{}) // same folder: a standby, Run goes on

	other := t.TempDir()
	stale := t.TempDir()
	if err := os.WriteFile(filepath.Join(stale, coordinator.DataIDFile), []byte("0123abcd\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dir, want string }{
		{"empty folder", other, "holds no " + coordinator.DataIDFile},
		{"another fleet's folder", stale, "has data id 0123abcd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := coordinator.New(env.Connect(t), coordinator.Config{DataDir: tc.dir})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Run(context.Background()) // returns at once: no campaign
			if !errors.Is(err, coordinator.ErrDataDir) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
				t.Fatalf("Run on %s: %v, want ErrDataDir naming the folder and %q", tc.dir, err, tc.want)
			}
			if c.IsLeader() {
				t.Fatal("a refused replica leads")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(other, coordinator.DataIDFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused replica wrote an id into its folder: %v", err)
	}
}
