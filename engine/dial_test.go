package engine

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// modelsServer serves /v1/models listing models (a 500 when models is nil).
func modelsServer(t *testing.T, models ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		if models == nil {
			http.Error(w, `{"message":"down"}`, http.StatusInternalServerError)
			return
		}
		var items []string
		for _, m := range models {
			items = append(items, fmt.Sprintf(`{"id":%q}`, m))
		}
		fmt.Fprintf(w, `{"data":[%s]}`, strings.Join(items, ","))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDial(t *testing.T) {
	one := modelsServer(t, "m1", "m2")
	none := modelsServer(t, []string{}...)
	down := modelsServer(t)
	for _, tc := range []struct {
		name, url, model string
		opts             []Option
		want             string
		err              error
		errText          string
	}{
		{name: "first listed model", url: one, want: "m1"},
		{name: "named model, no listing", url: down, model: "x", want: "x"},
		{name: "no model listed", url: none, err: ErrNoModel},
		{name: "listing fails", url: down, errText: "listing models failed"},
		{name: "bad url", url: "::", model: "x", errText: "dial engine <unparsable url"},
		{name: "bad option", url: one, opts: []Option{WithAPIKey("")}, errText: "empty key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(testCtx(t), tc.url, tc.model, tc.opts...)
			if tc.err != nil || tc.errText != "" {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("Dial = %v, want an error (%v %q)", err, tc.err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Model() != tc.want {
				t.Errorf("model %q, want %q", c.Model(), tc.want)
			}
			if c.firstTokenTimeout != DialFirstTokenTimeout || c.idleTimeout != DialIdleTimeout {
				t.Errorf("timeouts %v/%v, want %v/%v", c.firstTokenTimeout, c.idleTimeout, DialFirstTokenTimeout, DialIdleTimeout)
			}
		})
	}
	// Options given override the dial timeouts.
	c, err := Dial(testCtx(t), one, "m1", WithIdleTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.idleTimeout != time.Second {
		t.Errorf("idle timeout %v, want the option's 1s", c.idleTimeout)
	}
}

func TestDialAll(t *testing.T) {
	a, b, other := modelsServer(t, "m1"), modelsServer(t, "m1"), modelsServer(t, "m2")
	cs, err := DialAll(testCtx(t), []string{a, b}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[1].Model() != "m1" {
		t.Fatalf("DialAll = %d clients, want 2 serving m1", len(cs))
	}
	if _, err := DialAll(testCtx(t), []string{a, other}, ""); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("engines serving m1 and m2: %v, want ErrModelMismatch", err)
	}
	if cs, err := DialAll(testCtx(t), []string{a, other}, "m9"); err != nil || cs[1].Model() != "m9" {
		t.Errorf("a named model is sent to every engine: %v", err)
	}
	if _, err := DialAll(testCtx(t), nil, ""); err == nil {
		t.Error("no urls: nil error")
	}
}

// TestKeyOptions: the flag's key wins over the environment's, and no key
// anywhere is no option (not an empty WithAPIKey, which New refuses).
func TestKeyOptions(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k != APIKeyEnv {
				t.Errorf("getenv(%q), want only %s", k, APIKeyEnv)
			}
			return v
		}
	}
	for _, tc := range []struct {
		name, flag, env, want string
	}{
		{name: "flag", flag: "f-key", env: "e-key", want: "f-key"},
		{name: "environment", env: "e-key", want: "e-key"},
		{name: "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := KeyOptions(tc.flag, env(tc.env))
			if tc.want == "" && len(opts) != 0 {
				t.Fatalf("KeyOptions = %d options, want none", len(opts))
			}
			c, err := New("http://127.0.0.1:1", opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.apiKey.Reveal(); got != tc.want {
				t.Errorf("key = %q, want %q", got, tc.want)
			}
		})
	}
}
