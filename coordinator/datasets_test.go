package coordinator_test

import (
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/trajectory"
)

// TestNamedDatasetErrorsNameTheCoordinator (issue 18 finding 8): a named
// dataset the coordinator cannot read is refused with an error that says
// the coordinator reads it and from where, so that nobody sets
// $HINTFLEET_DATASETS on the client, where it does nothing.
func TestNamedDatasetErrorsNameTheCoordinator(t *testing.T) {
	t.Setenv(trajectory.DatasetsEnv, "")
	env := clustertest.Start(t)
	dir := t.TempDir() // a datasets folder without math500
	r := startReplica(t, env, t.TempDir(), coordinator.Config{DatasetsDir: dir})
	waitLeader(t, r)
	_, err := r.client.Submit(t.Context(), coordinator.JobSpec{Model: testModel, Dataset: "math500"})
	want := `dataset "math500" as the coordinator reads it (from folder ` + dir + `; the client's folders and environment play no part)`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "math500/test.jsonl not found") {
		t.Fatalf("submit of a dataset the coordinator lacks: %v; want it to say %q and what is missing", err, want)
	}
}
