package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
)

// TestJobSpecComplete: submit's spec takes the model of the fleet it
// found unless it names one, carries a FILE's problems inline once they
// are checked (a bad line is FILE:LINE), and is validated.
func TestJobSpecComplete(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(good, []byte(`{"id":"a","question":"1+1?","answer":"2"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"id":"a","question":"1+1?","answer":"2"}`+"\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fleet := cluster.Fleet{Endpoints: cluster.Endpoints{Model: "fleet-model"}}
	for _, tc := range []struct {
		name      string
		spec      JobSpec
		found     cluster.Fleet
		files     []string
		wantModel string
		inline    bool
		err       string
		is        error
	}{
		{name: "fleet's model", spec: JobSpec{Dataset: "math500"}, found: fleet, wantModel: "fleet-model"},
		{name: "own model", spec: JobSpec{Dataset: "math500", Model: "mine"}, found: fleet, wantModel: "mine"},
		{name: "no model anywhere", spec: JobSpec{Dataset: "math500"}, wantModel: ""},
		{name: "file inline", files: []string{good}, found: fleet, wantModel: "fleet-model", inline: true},
		{name: "bad line", files: []string{bad}, err: bad + ":2"},
		{name: "invalid spec", spec: JobSpec{Samples: -1, Dataset: "math500"}, is: ErrInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			err := s.Complete(tc.found, tc.files...)
			if tc.err != "" || tc.is != nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) || (tc.is != nil && !errors.Is(err, tc.is)) {
					t.Fatalf("Complete = %v, want an error with %q (%v)", err, tc.err, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Model != tc.wantModel || (s.ProblemsJSONL != "") != tc.inline {
				t.Errorf("spec model %q, inline %v; want %q, %v", s.Model, s.ProblemsJSONL != "", tc.wantModel, tc.inline)
			}
		})
	}
}

// TestWriteState: cancel's one line.
func TestWriteState(t *testing.T) {
	var b strings.Builder
	if err := WriteState(&b, Job{ID: "j1", State: JobCancelled}); err != nil || b.String() != "job j1 cancelled\n" {
		t.Errorf("WriteState = %q, %v; want %q", b.String(), err, "job j1 cancelled\n")
	}
}
