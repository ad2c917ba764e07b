package coordinator_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
)

// secured is a coordinator served by its own http.Server (Serve), so the
// server's timeouts and TLS are the ones under test.
type secured struct {
	c    *coordinator.Coordinator
	url  string
	hc   *http.Client
	dir  string
	toks map[coordinator.Role]string
}

func startSecured(t testing.TB, env *clustertest.Env, cfg coordinator.Config, opts ...coordinator.Option) *secured {
	t.Helper()
	s := &secured{dir: t.TempDir(), hc: &http.Client{Timeout: waitLimit}, toks: map[coordinator.Role]string{}}
	cfg.DataDir = s.dir
	cfg.ElectionTTL = 2 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.url = "http://" + ln.Addr().String()
	cfg.Advertise = s.url
	c, err := coordinator.New(env.Connect(t), cfg, append([]coordinator.Option{coordinator.WithLogger(testLog())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	ctx, cancel := context.WithCancel(context.Background())
	served, ran := make(chan error, 1), make(chan error, 1)
	go func() { served <- c.Serve(ctx, ln) }()
	go func() { ran <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-served
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// waitLeader waits until the replica leads.
func (s *secured) waitLeader(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !s.c.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("never led")
		}
		<-time.After(20 * time.Millisecond) // poll an in-memory flag
	}
}

// tokenAuth is an Auth with one token per role.
func tokenAuth(s map[coordinator.Role]string) coordinator.Auth {
	var a coordinator.Auth
	for _, r := range []coordinator.Role{coordinator.RoleRead, coordinator.RoleSubmit, coordinator.RoleAdmin} {
		s[r] = fmt.Sprintf("tok-%s-%s", r, rand.Text())
		a.Tokens = append(a.Tokens, coordinator.Token{Role: r, Secret: s[r]})
	}
	return a
}

// call sends one request and returns the status and body.
func (s *secured) call(t *testing.T, method, path, auth string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestAPIAuthRoles: every route but /healthz needs a credential of the
// right role; 401 and 403 come with a JSON error body. On the old API all
// of these answered without any credential.
func TestAPIAuthRoles(t *testing.T) {
	env := clustertest.Start(t)
	toks := map[coordinator.Role]string{}
	s := startSecured(t, env, coordinator.Config{}, coordinator.WithAuth(tokenAuth(toks)))
	s.waitLeader(t)
	spec := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"model":%q,"problems_jsonl":%q}`, id, testModel, problemsJSONL(testProblems(1)))
	}
	bearer := func(r coordinator.Role) string { return "Bearer " + toks[r] }
	read, submit, admin := bearer(coordinator.RoleRead), bearer(coordinator.RoleSubmit), bearer(coordinator.RoleAdmin)
	for _, tt := range []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"healthz open", "GET", "/healthz", "", "", 200},
		{"metrics needs read", "GET", "/metrics", "", "", 401},
		{"metrics with read", "GET", "/metrics", read, "", 200},
		{"list without token", "GET", "/v1/jobs", "", "", 401},
		{"list with unknown token", "GET", "/v1/jobs", "Bearer " + strings.Repeat("x", 40), "", 401},
		{"list with a prefix of a token", "GET", "/v1/jobs", read[:len(read)-1], "", 401},
		{"list with basic auth", "GET", "/v1/jobs", "Basic " + toks[coordinator.RoleAdmin], "", 401},
		{"list with read", "GET", "/v1/jobs", read, "", 200},
		{"submit without token", "POST", "/v1/jobs", "", spec("a0"), 401},
		{"submit with read", "POST", "/v1/jobs", read, spec("a1"), 403},
		{"submit with submit", "POST", "/v1/jobs", submit, spec("a2"), 201},
		{"get with read", "GET", "/v1/jobs/a2", read, "", 200},
		{"trajectories without token", "GET", "/v1/jobs/a2/trajectories", "", "", 401},
		{"trajectories with read", "GET", "/v1/jobs/a2/trajectories", read, "", 200},
		{"dead letters without token", "GET", "/v1/jobs/a2/dead_letters", "", "", 401},
		{"cancel with submit", "DELETE", "/v1/jobs/a2", submit, "", 403},
		{"workers with submit", "GET", "/v1/workers", submit, "", 403},
		{"workers with admin", "GET", "/v1/workers", admin, "", 200},
		{"cancel with admin", "DELETE", "/v1/jobs/a2", admin, "", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			got, b, h := s.call(t, tt.method, tt.path, tt.auth, body)
			if got != tt.want {
				t.Fatalf("status %d, want %d: %s", got, tt.want, b)
			}
			if got == 401 || got == 403 {
				var e struct{ Error string }
				if json.Unmarshal([]byte(b), &e) != nil || e.Error == "" {
					t.Errorf("body %q: want a JSON error", b)
				}
				if got == 401 && h.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				for _, tok := range toks {
					if strings.Contains(b, tok) {
						t.Errorf("error body echoes a token: %s", b)
					}
				}
			}
		})
	}
	for _, id := range []string{"a0", "a1"} {
		if _, err := s.c.Get(context.Background(), id); !errors.Is(err, coordinator.ErrJobNotFound) {
			t.Errorf("refused job %s exists: %v", id, err)
		}
	}
	// The Go client sends its token and maps 401/403 to sentinels.
	ctx := context.Background()
	for _, tt := range []struct {
		opts []coordinator.ClientOption
		want error
	}{
		{nil, coordinator.ErrUnauthenticated},
		{[]coordinator.ClientOption{coordinator.WithToken(toks[coordinator.RoleRead])}, coordinator.ErrForbidden},
		{[]coordinator.ClientOption{coordinator.WithToken(toks[coordinator.RoleAdmin])}, nil},
	} {
		cli, err := coordinator.NewClient(s.url, nil, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Cancel(ctx, "a2"); !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("client cancel: %v, want %v", err, tt.want)
		}
	}
}

// TestAPIMetricsOpenByFlag: Auth.MetricsOpen serves /metrics without a
// credential, and nothing else.
func TestAPIMetricsOpenByFlag(t *testing.T) {
	env := clustertest.Start(t)
	toks := map[coordinator.Role]string{}
	a := tokenAuth(toks)
	a.MetricsOpen = true
	s := startSecured(t, env, coordinator.Config{}, coordinator.WithAuth(a))
	if got, b, _ := s.call(t, "GET", "/metrics", "", nil); got != 200 {
		t.Errorf("open metrics: %d %s", got, b)
	}
	if got, _, _ := s.call(t, "GET", "/v1/jobs", "", nil); got != 401 {
		t.Errorf("jobs with open metrics: %d, want 401", got)
	}
}

// TestAPIClientCertificates: with mutual TLS a verified client
// certificate's CN or SAN maps to a role; an unknown name is 401, a
// certificate of another CA fails the handshake, tokens still work.
func TestAPIClientCertificates(t *testing.T) {
	env := clustertest.Start(t)
	ca := newTestCA(t)
	other := newTestCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	toks := map[coordinator.Role]string{}
	a := tokenAuth(toks)
	a.CertRoles = map[string]coordinator.Role{"ci-reader": coordinator.RoleRead, "ops.example": coordinator.RoleAdmin}
	srvCert := ca.issue(t, "server", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	s := startSecured(t, env, coordinator.Config{}, coordinator.WithAuth(a), coordinator.WithTLS(&tls.Config{
		Certificates: []tls.Certificate{srvCert}, ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven,
	}))
	s.url = strings.Replace(s.url, "http://", "https://", 1)
	client := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: pool}
		if cert != nil {
			// Presented whatever CAs the server names, as an attacker would.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		return &http.Client{Timeout: waitLimit, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	reader := ca.issue(t, "ci-reader", nil, nil)
	ops := ca.issue(t, "someone", []string{"ops.example"}, nil)
	stranger := ca.issue(t, "stranger", nil, nil)
	forged := other.issue(t, "ops.example", []string{"ops.example"}, nil)
	for _, tt := range []struct {
		name         string
		cert         *tls.Certificate
		method, path string
		auth         string
		want         int // 0: the handshake fails
	}{
		{"reader lists", &reader, "GET", "/v1/jobs", "", 200},
		{"reader cancels", &reader, "DELETE", "/v1/jobs/x", "", 403},
		{"ops by SAN lists workers", &ops, "GET", "/v1/workers", "", 200},
		{"unknown name", &stranger, "GET", "/v1/jobs", "", 401},
		{"no certificate", nil, "GET", "/v1/jobs", "", 401},
		{"no certificate, token", nil, "GET", "/v1/workers", "Bearer " + toks[coordinator.RoleAdmin], 200},
		{"certificate of another CA", &forged, "GET", "/v1/jobs", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.url+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := client(tt.cert).Do(req)
			if tt.want == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("a certificate of another CA got status %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	// Plain HTTP to the TLS port gets nothing.
	resp, err := http.Get(strings.Replace(s.url, "https://", "http://", 1) + "/v1/jobs")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served over the TLS port")
		}
	}
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA " + rand.Text()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert, key}
}

func (ca testCA) issue(t *testing.T, cn string, dns []string, ips []net.IP) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
