package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the major protocol version this build writes and reads. Bump it
// only for a change that an older reader would misread (see the package
// documentation); additive changes keep it.
const Version = 1

// checkVersion reads only the "v" of a message, before the rest, so that a
// message of another major version is refused as such even when its body no
// longer fits this build's types. A message without "v" was written before
// the field existed: version 1.
func checkVersion(kind string, b []byte) error {
	var m struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s message: %w", kind, err)
	}
	v := 1
	if m.V != nil {
		v = *m.V
	}
	if v != Version {
		return fmt.Errorf("%s message: %w %d (this build speaks %d)", kind, ErrVersion, v, Version)
	}
	return nil
}

// Encode writes t as a task message of the current Version.
func (t Task) Encode() ([]byte, error) {
	t.V = Version
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode task %s: %w", t.TaskID, err)
	}
	return b, nil
}

// Encode writes r as a result message of the current Version.
func (r Result) Encode() ([]byte, error) {
	r.V = Version
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode result of %s: %w", r.TaskID, err)
	}
	return b, nil
}

// DecodeTask reads a task message. Unknown fields are ignored; a message of
// another major version is refused with an error wrapping ErrVersion, and
// one without its ids with a plain error. On error the returned Task holds
// what could be read, so the caller can attribute the refusal.
func DecodeTask(b []byte) (Task, error) {
	var t Task
	if err := checkVersion("task", b); err != nil {
		_ = json.Unmarshal(b, &t) // best effort, for the ids
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("task message: %w", err)
	}
	if t.TaskID == "" || t.JobID == "" {
		return t, errors.New(`task message: field "task_id" or "job_id" missing`)
	}
	return t, nil
}

// DecodeResult reads a result message and validates it (Result.Validate).
// Unknown fields are ignored; a message of another major version is refused
// with an error wrapping ErrVersion. On error the returned Result holds what
// could be read, so the caller can attribute the refusal.
func DecodeResult(b []byte) (Result, error) {
	var r Result
	if err := checkVersion("result", b); err != nil {
		_ = json.Unmarshal(b, &r) // best effort, for the ids
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("result message: %w", err)
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("result message: %w", err)
	}
	return r, nil
}
