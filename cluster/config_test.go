package cluster_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := func() cluster.Config {
		return cluster.Config{
			NATS: cluster.NATSConfig{URLs: []string{"nats://127.0.0.1:4222"}},
			Etcd: cluster.EtcdConfig{Endpoints: []string{"http://127.0.0.1:2379"}},
		}
	}
	tests := []struct {
		name string
		edit func(*cluster.Config)
		want []string // substrings, each naming a field; nil means valid
	}{
		{"valid", func(*cluster.Config) {}, nil},
		{"valid tls and token", func(c *cluster.Config) { c.NATS.TLS.CA = ca; c.NATS.Token = "t" }, nil},
		{"empty", func(c *cluster.Config) { *c = cluster.Config{} }, []string{"nats.urls:", "etcd.endpoints:"}},
		{"bad scheme", func(c *cluster.Config) { c.NATS.URLs = []string{"http://x"}; c.Etcd.Endpoints = []string{"nats://x"} },
			[]string{"nats.urls[0]", "etcd.endpoints[0]"}},
		{"two auth", func(c *cluster.Config) { c.NATS.Token = "t"; c.NATS.User = "u"; c.NATS.Password = "p" }, []string{"only one of"}},
		{"password without user", func(c *cluster.Config) { c.NATS.Password = "p" }, []string{"nats.user"}},
		{"cert without key", func(c *cluster.Config) { c.Etcd.TLS.Cert = ca }, []string{"etcd.tls: cert and key"}},
		{"missing ca", func(c *cluster.Config) { c.NATS.TLS.CA = filepath.Join(dir, "nope.pem") }, []string{"nats.tls.ca"}},
		{"missing creds", func(c *cluster.Config) { c.NATS.CredsFile = filepath.Join(dir, "nope.creds") }, []string{"nats.creds_file"}},
		{"etcd user only", func(c *cluster.Config) { c.Etcd.Username = "root" }, []string{"etcd.username"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, cluster.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	cfg := cluster.Config{NATS: cluster.NATSConfig{Token: "tok-123"}, Etcd: cluster.EtcdConfig{Password: "pw-456"}}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "cfg", cfg, "token", cfg.NATS.Token)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"slog": logBuf.String(),
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"json": string(js),
	} {
		if strings.Contains(out, "tok-123") || strings.Contains(out, "pw-456") {
			t.Errorf("%s leaks a secret: %s", name, out)
		}
	}
	if cfg.NATS.Token.Reveal() != "tok-123" {
		t.Errorf("Reveal = %q", cfg.NATS.Token.Reveal())
	}
}

func TestToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"qwq-32b_v1", "qwq-32b_v1"},
		{"Qwen/QwQ-32B", "Qwen=2FQwQ-32B"},
		{"a.b", "a=2Eb"},
		{"a_b", "a_b"},
		{"x*>", "x=2A=3E"},
		{"", "=00"},
	}
	for _, tc := range tests {
		if got := cluster.Token(tc.in); got != tc.want {
			t.Errorf("Token(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := cluster.WorkerTaskSubject("Qwen/QwQ-32B", "node1.gpu0", "j"), "hintfleet.tasks.Qwen=2FQwQ-32B.w.node1=2Egpu0.j"; got != want {
		t.Errorf("WorkerTaskSubject = %q, want %q", got, want)
	}
}
