package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/hint"
)

// TestHintSpecRoundTrip: a hint.Spec sent as a job's HintSpec builds, on
// the worker, the same hint.Config as it builds here, over JSON.
func TestHintSpecRoundTrip(t *testing.T) {
	seed := int64(9)
	for _, s := range []hint.Spec{
		{Template: hint.DefaultTemplate, Hints: hint.HintsPaper, Triggers: []string{"Wait"},
			Policy:       hint.Policy{Mode: hint.TriggerProb, P: 0.25, UntilToolCall: true, DeferStop: 2},
			MaxToolCalls: 4, MaxTokens: 2048, WallTime: 90 * time.Second, Temperature: 0.6, TopP: 0.95, SampleSeed: &seed},
		{Hints: hint.HintsNone, Policy: hint.Policy{Mode: hint.TriggerEvery}},
		{},
	} {
		want, err := s.Config(2)
		if err != nil {
			t.Fatal(err)
		}
		h, err := NewHintSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var back HintSpec
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.Config(2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("spec %+v over the wire (%s):\n got %+v\nwant %+v", s, b, got, want)
		}
	}
}

// TestNewHintSpecRefuses: what a worker cannot run is refused at submit.
func TestNewHintSpecRefuses(t *testing.T) {
	for _, s := range []hint.Spec{
		{Template: "/tmp/my.tmpl"},
		{Hints: "/tmp/hints.txt"},
		{Policy: hint.Policy{Mode: "sometimes"}},
	} {
		if _, err := NewHintSpec(s); err == nil {
			t.Errorf("NewHintSpec(%+v) = nil error", s)
		}
	}
}
