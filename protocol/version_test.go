package protocol_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

func TestDecodeTaskVersions(t *testing.T) {
	tests := []struct {
		name        string
		msg         string
		wantErr     bool
		wantVersion bool // the error wraps ErrVersion
		wantTask    string
		wantPool    string
	}{
		{"current", `{"v":1,"job_id":"j","task_id":"j/p/0","pool":"qwq"}`, false, false, "j/p/0", "qwq"},
		{"written before v existed", `{"job_id":"j","task_id":"j/p/0","pool":"qwq"}`, false, false, "j/p/0", "qwq"},
		{"unknown fields ignored", `{"v":1,"job_id":"j","task_id":"j/p/0","pool":"qwq","priority":3,"hint":{"new_knob":true}}`, false, false, "j/p/0", "qwq"},
		{"newer major", `{"v":2,"job_id":"j","task_id":"j/p/0","pool":"qwq"}`, true, true, "j/p/0", "qwq"},
		{"newer major with a reshaped body", `{"v":2,"job_id":"j","task_id":"j/p/0","problem":"now a string"}`, true, true, "j/p/0", ""},
		{"version zero written explicitly", `{"v":0,"job_id":"j","task_id":"j/p/0"}`, true, true, "j/p/0", ""},
		{"version not a number", `{"v":"1","job_id":"j","task_id":"j/p/0"}`, true, false, "j/p/0", ""},
		{"ids missing", `{"v":1,"pool":"qwq"}`, true, false, "", "qwq"},
		{"not json", `{"v":1,`, true, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := protocol.DecodeTask([]byte(tc.msg))
			if (err != nil) != tc.wantErr {
				t.Fatalf("DecodeTask err = %v, want error %v", err, tc.wantErr)
			}
			if errors.Is(err, protocol.ErrVersion) != tc.wantVersion {
				t.Errorf("DecodeTask err = %v, want ErrVersion %v", err, tc.wantVersion)
			}
			if got.TaskID != tc.wantTask || got.Pool != tc.wantPool {
				t.Errorf("DecodeTask = task %q pool %q, want %q %q", got.TaskID, got.Pool, tc.wantTask, tc.wantPool)
			}
		})
	}
}

func TestDecodeResultVersions(t *testing.T) {
	tests := []struct {
		name        string
		msg         string
		wantErr     bool
		wantVersion bool
	}{
		{"current", `{"v":1,"job_id":"j","task_id":"t","failure":"x"}`, false, false},
		{"written before v existed", `{"job_id":"j","task_id":"t","failure":"x"}`, false, false},
		{"unknown fields ignored", `{"v":1,"job_id":"j","task_id":"t","failure":"x","gpu_seconds":3}`, false, false},
		{"newer major", `{"v":3,"job_id":"j","task_id":"t","failure":"x"}`, true, true},
		{"invalid", `{"v":1,"job_id":"j","task_id":"t"}`, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := protocol.DecodeResult([]byte(tc.msg))
			if (err != nil) != tc.wantErr {
				t.Fatalf("DecodeResult err = %v, want error %v", err, tc.wantErr)
			}
			if errors.Is(err, protocol.ErrVersion) != tc.wantVersion {
				t.Errorf("DecodeResult err = %v, want ErrVersion %v", err, tc.wantVersion)
			}
			if got.JobID != "j" || got.TaskID != "t" {
				t.Errorf("DecodeResult ids = %q %q, want j t (kept for attribution)", got.JobID, got.TaskID)
			}
		})
	}
}

func TestEncodeStampsVersion(t *testing.T) {
	task := protocol.Task{JobID: "j", TaskID: "j/p/1", Pool: "qwq", Sample: 1, Attempt: 2,
		Problem: trajectory.Problem{ID: "p", Question: "1+1?"}}
	b, err := task.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocol.DecodeTask(b)
	if err != nil {
		t.Fatal(err)
	}
	task.V = protocol.Version
	if !reflect.DeepEqual(got, task) {
		t.Errorf("round trip = %+v, want %+v", got, task)
	}

	tr := &trajectory.Trajectory{TaskID: "j/p/1"}
	res := protocol.Result{JobID: "j", TaskID: "j/p/1", Worker: "w", Trajectory: tr}
	b, err = res.Encode()
	if err != nil {
		t.Fatal(err)
	}
	gotR, err := protocol.DecodeResult(b)
	if err != nil {
		t.Fatal(err)
	}
	if gotR.V != protocol.Version || gotR.Worker != "w" || gotR.Trajectory == nil {
		t.Errorf("round trip = %+v, want version %d, worker w and the trajectory", gotR, protocol.Version)
	}
}

// FuzzDecodeTask checks that no input panics and that whatever decodes
// re-encodes to a message that decodes and encodes to the same bytes.
func FuzzDecodeTask(f *testing.F) {
	f.Add([]byte(`{"v":1,"job_id":"j","task_id":"t","pool":"p","problem":{"id":"x"}}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"job_id":"j","task_id":"t","hint":{"wall_time":"3s"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		task, err := protocol.DecodeTask(b)
		if err != nil {
			return
		}
		again, err := task.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := protocol.DecodeTask(again)
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", again, err)
		}
		third, err := back.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if string(third) != string(again) {
			t.Errorf("re-encoded %s, then %s", again, third)
		}
	})
}
