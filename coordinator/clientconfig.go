package coordinator

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
)

// ClientConfig says which API a client talks to and with what credential,
// as a command line gives it (files, never secrets).
type ClientConfig struct {
	// Data, Endpoints and API say where the fleet is (cluster.Find).
	Data, Endpoints, API string
	// TokenFile holds the token, or is a tokens file whose highest role
	// is used; else $HINTFLEET_API_TOKEN, else the tokens file the fleet's
	// endpoints file names.
	TokenFile string
	// CA verifies an https API; Cert and Key are a client certificate.
	CA, Cert, Key string
}

// Resolve finds the fleet (cluster.Find, for its API) and the token to
// send (empty when none is found: the API then answers 401 unless it runs
// insecure).
func (c ClientConfig) Resolve() (cluster.Fleet, string, error) {
	fl, err := cluster.Find(cluster.Where{Data: c.Data, Endpoints: c.Endpoints, API: c.API}, cluster.NeedAPI)
	if err != nil {
		return fl, "", err
	}
	token, err := ClientToken(c.TokenFile, fl.Endpoints.APITokenFile)
	return fl, token, err
}

// HTTPClient is the client's HTTP client: the CA that verifies an https
// API, and a client certificate when one is the credential.
func (c ClientConfig) HTTPClient() (*http.Client, error) {
	hc := &http.Client{Timeout: time.Minute}
	if c.CA == "" && c.Cert == "" && c.Key == "" {
		return hc, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pool, err := certPool(c.CA)
		if err != nil {
			return nil, fmt.Errorf("--api-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if c.Cert != "" || c.Key != "" {
		kp, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("--api-cert/--api-cert-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	hc.Transport = &http.Transport{TLSClientConfig: cfg}
	return hc, nil
}

// Client returns the API client of the fleet c points at, and the fleet.
func (c ClientConfig) Client() (*Client, cluster.Fleet, error) {
	fl, token, err := c.Resolve()
	if err != nil {
		return nil, fl, err
	}
	hc, err := c.HTTPClient()
	if err != nil {
		return nil, fl, err
	}
	opts := []ClientOption{WithSource(fl.From)}
	if token != "" {
		opts = append(opts, WithToken(token))
	}
	cl, err := NewClient(fl.API, hc, opts...)
	if err != nil {
		return nil, fl, fmt.Errorf("%s: %w", fl.From, err)
	}
	return cl, fl, nil
}

// ClientToken finds the bearer token a client sends: file (a bare token,
// or a tokens file whose highest role is used), else $HINTFLEET_API_TOKEN,
// else the tokens file endpointsFile (endpoints.json's APITokenFile).
// Empty when none is found.
func ClientToken(file, endpointsFile string) (string, error) {
	if file == "" {
		if t := os.Getenv(EnvAPIToken); t != "" {
			return strings.TrimSpace(t), nil
		}
		file = endpointsFile
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if !strings.ContainsAny(text, " \t\n") && text != "" {
		return text, nil
	}
	toks, err := ReadTokens(strings.NewReader(text), file)
	if err != nil {
		return "", err
	}
	best := Token{}
	for _, t := range toks {
		if t.Role > best.Role {
			best = t
		}
	}
	if best.Secret == "" {
		return "", fmt.Errorf("api token: %s holds no token", file)
	}
	return best.Secret, nil
}

// BearerFor wraps rt (nil: http.DefaultTransport) so that requests to
// api's host, and only those, carry the token: `top` also reads the
// workers' /metrics, which must never see it.
func BearerFor(api, token string, rt http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(api)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--api %q: not a URL", api)
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return bearerTransport{host: u.Host, token: token, rt: rt}, nil
}

type bearerTransport struct {
	host, token string
	rt          http.RoundTripper
}

func (b bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == b.host {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.rt.RoundTrip(req)
}

// ScopedHTTPClient is HTTPClient with the token (Resolve's) sent to the
// API's host only, for a caller that also reads other servers (`top`
// reads the workers' /metrics, which must never see it), and the API's
// URL.
func (c ClientConfig) ScopedHTTPClient(timeout time.Duration) (*http.Client, string, error) {
	fl, token, err := c.Resolve()
	if err != nil {
		return nil, "", err
	}
	api := fl.API
	hc, err := c.HTTPClient()
	if err != nil {
		return nil, "", err
	}
	hc.Timeout = timeout
	if token != "" {
		if hc.Transport, err = BearerFor(api, token, hc.Transport); err != nil {
			return nil, "", err
		}
	}
	return hc, api, nil
}
