package coordinator_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
)

const (
	readToken  = "read-token-0123456789abcdef"
	adminToken = "admin-token-0123456789abcdef"
)

func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientConfigResolve: the fleet is found as cluster.Find finds it
// (--api replaces the URL --data's endpoints.json names; flags outrank the
// environment; the default port last); the token comes from the file
// given (a bare token, or the highest role of a tokens file), else
// $HINTFLEET_API_TOKEN, else the tokens file endpoints.json names.
func TestClientConfigResolve(t *testing.T) {
	tokens := writeSecret(t, "api-tokens", "# roles\nread "+readToken+"\nadmin "+adminToken+"\n")
	bare := writeSecret(t, "token", readToken+"\n")
	data := t.TempDir()
	if err := cluster.WriteEndpoints(data, cluster.Endpoints{API: "http://up:8700", APITokenFile: tokens}); err != nil {
		t.Fatal(err)
	}
	noAPI := t.TempDir()
	if err := cluster.WriteEndpoints(noAPI, cluster.Endpoints{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name               string
		cfg                coordinator.ClientConfig
		env, envToken      string
		wantAPI, wantToken string
		wantErr            string
	}{
		{name: "default", wantAPI: cluster.DefaultAPI},
		{name: "env", env: "http://env:1", envToken: "t", wantAPI: "http://env:1", wantToken: "t"},
		{name: "data", cfg: coordinator.ClientConfig{Data: data}, env: "http://env:1", wantAPI: "http://up:8700", wantToken: adminToken},
		{name: "api over data", cfg: coordinator.ClientConfig{Data: data, API: "http://flag:2", TokenFile: bare}, wantAPI: "http://flag:2", wantToken: readToken},
		{name: "data without api", cfg: coordinator.ClientConfig{Data: noAPI}, wantErr: "names no coordinator API"},
		{name: "data not running", cfg: coordinator.ClientConfig{Data: t.TempDir()}, wantErr: "is `hintfleet up --data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(cluster.EnvData, "")
			t.Setenv(cluster.EnvAPI, tc.env)
			t.Setenv(coordinator.EnvAPIToken, tc.envToken)
			fl, token, err := tc.cfg.Resolve()
			api := fl.API
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Resolve = %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || api != tc.wantAPI || token != tc.wantToken {
				t.Errorf("Resolve = %q, %q, %v; want %q, %q", api, token, err, tc.wantAPI, tc.wantToken)
			}
		})
	}
}

// TestScopedHTTPClient: the token goes to the API's host and to no other.
func TestScopedHTTPClient(t *testing.T) {
	seen := map[string]string{}
	srv := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			seen[name] = r.Header.Get("Authorization")
		}))
		t.Cleanup(s.Close)
		return s
	}
	api, other := srv("api"), srv("other")
	hc, url, err := coordinator.ClientConfig{API: api.URL, TokenFile: writeSecret(t, "t", adminToken)}.ScopedHTTPClient(0)
	if err != nil || url != api.URL {
		t.Fatalf("ScopedHTTPClient = %q, %v", url, err)
	}
	for _, u := range []string{api.URL, other.URL} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if seen["api"] != "Bearer "+adminToken || seen["other"] != "" {
		t.Errorf("Authorization seen: %q", seen)
	}
}

// TestSecurityOptions: an API with no credential is refused unless
// insecure; certificate roles need TLS; a tokens file is read.
func TestSecurityOptions(t *testing.T) {
	t.Setenv(coordinator.EnvAPITokens, "")
	tokens := writeSecret(t, "api-tokens", "admin "+adminToken+"\n")
	for _, tc := range []struct {
		name    string
		sec     coordinator.Security
		wantErr string
	}{
		{name: "nothing", wantErr: "the API has no credentials"},
		{name: "insecure", sec: coordinator.Security{Insecure: true}},
		{name: "tokens file", sec: coordinator.Security{TokensFile: tokens}},
		{name: "default tokens", sec: coordinator.Security{DefaultTokens: tokens}},
		{name: "cert roles without tls", sec: coordinator.Security{CertRoles: []string{"a=admin"}}, wantErr: "need --api-tls-cert"},
		{name: "missing tls files", sec: coordinator.Security{TLSCert: "nope.pem", TLSKey: "nope.key"}, wantErr: "--api-tls-cert/--api-tls-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.sec.Options()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Options = %v, want error %q", err, tc.wantErr)
			}
		})
	}
	if _, err := coordinator.ClientToken(writeSecret(t, "empty", "# nothing\n\n"), ""); err == nil {
		t.Error("ClientToken of a file without a token: want an error")
	}
	if _, err := coordinator.ClientToken(filepath.Join(t.TempDir(), "none"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ClientToken of a missing file = %v, want not exist", err)
	}
}
