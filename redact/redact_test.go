package redact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/redact"
)

// TestSecretNeverPrinted prints a secret, alone and inside a struct, every
// way a program might, and checks the value never shows while Reveal and
// the emptiness of an unset secret do.
func TestSecretNeverPrinted(t *testing.T) {
	type config struct {
		Key   redact.Secret `json:"key"`
		Unset redact.Secret `json:"unset"`
	}
	s := redact.Secret("sk-very-secret")
	cfg := config{Key: s}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "key", s, "cfg", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{
		"slog": logBuf.String(),
		"%v":   fmt.Sprintf("%v", s),
		//lint:ignore S1025 the test checks what the %s verb prints
		"%s":   fmt.Sprintf("%s", s),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"json": string(js),
	}
	for name, out := range outs {
		if strings.Contains(out, "very-secret") {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, redact.Redacted) {
			t.Errorf("%s does not say it redacted: %s", name, out)
		}
	}
	if want := `{"key":"[redacted]","unset":""}`; string(js) != want {
		t.Errorf("json = %s, want %s (an unset secret stays visibly empty)", js, want)
	}
	if s.Reveal() != "sk-very-secret" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}
