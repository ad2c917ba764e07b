package cluster_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
)

func TestAccessConfig(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := file("token", "tok-from-file\n")
	empty := file("empty", "\n")
	ca, otherCA := file("ca.pem", "x"), file("other.pem", "x")
	if err := cluster.WriteEndpoints(dir, cluster.Endpoints{NATS: []string{"nats://a:4222"}, Etcd: []string{"http://a:2379"},
		NATSTokenFile: token, TLSCA: ca}); err != nil {
		t.Fatal(err)
	}
	eps := cluster.EndpointsPath(dir)
	t.Setenv(cluster.EnvNATSToken, "tok-from-env")
	t.Setenv(cluster.EnvEtcdPassword, "pw-from-env")
	for _, tc := range []struct {
		name  string
		a     cluster.Access
		check func(t *testing.T, c cluster.Config)
		err   string
	}{
		{name: "endpoints file", a: cluster.Access{Endpoints: eps}, check: func(t *testing.T, c cluster.Config) {
			if !reflect.DeepEqual(c.NATS.URLs, []string{"nats://a:4222"}) || c.NATS.Token.Reveal() != "tok-from-file" || c.Etcd.TLS.CA != ca {
				t.Errorf("config %+v: want the file's addresses, token and CA", c)
			}
		}},
		{name: "flags override the file", a: cluster.Access{Endpoints: eps, NATS: []string{"nats://b:4222"}, TLS: cluster.TLSFiles{CA: otherCA}},
			check: func(t *testing.T, c cluster.Config) {
				if c.NATS.URLs[0] != "nats://b:4222" || c.Etcd.Endpoints[0] != "http://a:2379" || c.NATS.TLS.CA != otherCA {
					t.Errorf("config %+v: want --nats and --tls-ca over the file", c)
				}
			}},
		{name: "token and password from the environment", a: cluster.Access{NATS: []string{"nats://b"}, Etcd: []string{"http://b"}, EtcdUser: "root"},
			check: func(t *testing.T, c cluster.Config) {
				if c.NATS.Token.Reveal() != "tok-from-env" || c.Etcd.Username != "root" || c.Etcd.Password.Reveal() != "pw-from-env" {
					t.Errorf("config %+v: want the environment's secrets", c)
				}
			}},
		{name: "no address", a: cluster.Access{NATS: []string{"nats://b"}, Getenv: func(string) string { return "" }}, err: "cannot find the fleet's NATS and etcd: tried --data"},
		{name: "data directory", a: cluster.Access{Data: dir}, check: func(t *testing.T, c cluster.Config) {
			if c.NATS.URLs[0] != "nats://a:4222" || c.NATS.Token.Reveal() != "tok-from-file" {
				t.Errorf("config %+v: want the addresses and token of --data's endpoints.json", c)
			}
		}},
		{name: "urls make data only a folder", a: cluster.Access{Data: t.TempDir(), NATS: []string{"nats://b"}, Etcd: []string{"http://b"}},
			check: func(t *testing.T, c cluster.Config) {
				if c.NATS.URLs[0] != "nats://b" || c.Etcd.Endpoints[0] != "http://b" {
					t.Errorf("config %+v: want --nats and --etcd, no endpoints file read", c)
				}
			}},
		{name: "empty secret file", a: cluster.Access{Endpoints: eps, NATSTokenFile: empty}, err: "nats token: read secret: " + empty + " is empty"},
		{name: "missing endpoints file", a: cluster.Access{Endpoints: filepath.Join(dir, "none.json")}, err: "none.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.a.Config()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Config = %v, want an error saying %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "tok-from") {
					t.Errorf("error %q carries a secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
	if _, err := (cluster.Access{Getenv: func(string) string { return "" }}).Config(); !errors.Is(err, cluster.ErrNoAddress) {
		t.Errorf("empty Access: %v, want ErrNoAddress", err)
	}
}

// TestAccessDataDir: --data wins over $HINTFLEET_DATA; neither is an
// error that names both.
func TestAccessDataDir(t *testing.T) {
	for _, tc := range []struct{ flag, env, want, err string }{
		{flag: "/flag", env: "/env", want: "/flag"},
		{env: "/env", want: "/env"},
		{err: "--data DIR is required"},
	} {
		t.Setenv(cluster.EnvData, tc.env)
		got, err := cluster.Access{Data: tc.flag}.DataDir()
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && (!strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), cluster.EnvData))) {
			t.Errorf("DataDir(%q, $%s=%q) = %q, %v; want %q, %q", tc.flag, cluster.EnvData, tc.env, got, err, tc.want, tc.err)
		}
	}
}
