package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/coordinator"
)

// Where API credentials come from besides files. Like every secret they are
// never a flag value.
const (
	// envAPIToken is the bearer token a CLI command sends.
	envAPIToken = "HINTFLEET_API_TOKEN"
	// envAPITokens holds a coordinator's tokens, `ROLE TOKEN` per line.
	envAPITokens = "HINTFLEET_API_TOKENS"
	// apiTokensFile is the name of the tokens file `up` generates in DATA.
	apiTokensFile = "api-tokens"
	// credFileMode is the mode of every credential file hintfleet writes.
	credFileMode = 0o600
	// dataDirMode is the mode of DATA and the folders hintfleet makes in it.
	dataDirMode = 0o750
)

// authFlags are the serving side of the API's security: who may call it,
// over what, and how much a request may carry.
type authFlags struct {
	tokensFile  string
	tlsCert     string
	tlsKey      string
	tlsClientCA string
	certRoles   []string
	metricsOpen bool
	insecure    bool
	problemsDir string
	maxBody     int64
	maxTasks    int
}

func (f *authFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.tokensFile, "api-tokens", "", "API bearer tokens, `ROLE TOKEN` per line (roles read, submit, admin), mode 0600 (else $"+envAPITokens+", else the file endpoints.json names)")
	fl.StringVar(&f.tlsCert, "api-tls-cert", "", "serve the API over TLS with this certificate")
	fl.StringVar(&f.tlsKey, "api-tls-key", "", "key of --api-tls-cert")
	fl.StringVar(&f.tlsClientCA, "api-tls-client-ca", "", "CA of client certificates: a verified certificate named in --api-cert-role is a credential")
	fl.StringArrayVar(&f.certRoles, "api-cert-role", nil, "NAME=ROLE: a client certificate with this CN or SAN gets ROLE (read, submit, admin); repeatable")
	fl.BoolVar(&f.metricsOpen, "metrics-open", false, "serve /metrics without a credential (default: the read role)")
	fl.BoolVar(&f.insecure, "insecure", false, "INSECURE: no credentials: the API serves anyone (with up, NATS and etcd too); development only")
	fl.StringVar(&f.problemsDir, "problems-dir", "", "the one directory a job's problems_path may name a file in (default: none; jobs carry problems inline or name a dataset)")
	fl.Int64Var(&f.maxBody, "max-body-bytes", coordinator.DefaultMaxBodyBytes, "largest request body the API reads")
	fl.IntVar(&f.maxTasks, "max-tasks-per-job", coordinator.DefaultMaxTasksPerJob, "largest problems × samples of one job")
}

// options turns the flags into the coordinator's auth and TLS options.
// defaultTokens is the tokens file to use when neither --api-tokens nor
// the environment gives one (up's generated file, or endpoints.json's).
func (f *authFlags) options(defaultTokens string) ([]coordinator.Option, error) {
	var opts []coordinator.Option
	if f.tlsCert != "" || f.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--api-tls-cert/--api-tls-key: %w", err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if f.tlsClientCA != "" {
			pool, err := certPool(f.tlsClientCA)
			if err != nil {
				return nil, fmt.Errorf("--api-tls-client-ca: %w", err)
			}
			cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
		}
		opts = append(opts, coordinator.WithTLS(cfg))
	} else if f.tlsClientCA != "" || len(f.certRoles) > 0 {
		return nil, errors.New("--api-tls-client-ca and --api-cert-role need --api-tls-cert and --api-tls-key")
	}
	if f.insecure {
		return opts, nil
	}
	a := coordinator.Auth{MetricsOpen: f.metricsOpen}
	var err error
	switch {
	case f.tokensFile != "":
		a.Tokens, err = coordinator.LoadTokensFile(f.tokensFile)
	case os.Getenv(envAPITokens) != "":
		a.Tokens, err = coordinator.ReadTokens(strings.NewReader(os.Getenv(envAPITokens)), "$"+envAPITokens)
	case defaultTokens != "":
		a.Tokens, err = coordinator.LoadTokensFile(defaultTokens)
	}
	if err != nil {
		return nil, err
	}
	for _, nr := range f.certRoles {
		name, role, ok := strings.Cut(nr, "=")
		r, rerr := coordinator.ParseRole(role)
		if !ok || name == "" || rerr != nil {
			return nil, fmt.Errorf("--api-cert-role %q: want NAME=ROLE with ROLE read, submit or admin", nr)
		}
		if a.CertRoles == nil {
			a.CertRoles = map[string]coordinator.Role{}
		}
		a.CertRoles[name] = r
	}
	if len(a.Tokens) == 0 && len(a.CertRoles) == 0 {
		return nil, errors.New("the API has no credentials: give --api-tokens FILE (or $" + envAPITokens + ", or --endpoints of an `up` that generated them), or client certificates (--api-tls-client-ca, --api-cert-role); --insecure serves it to anyone")
	}
	return append(opts, coordinator.WithAuth(a)), nil
}

// ensureAPITokens returns dir's tokens file, creating it with one fresh
// admin token (mode 0600) when it does not exist; a resumed `up` keeps its
// token.
func ensureAPITokens(dir string) (string, error) {
	path := filepath.Join(dir, apiTokensFile)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("api tokens: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, credFileMode)
	if err != nil {
		return "", fmt.Errorf("api tokens: %w", err)
	}
	_, werr := fmt.Fprintf(f, "# hintfleet API tokens: ROLE TOKEN per line (read, submit, admin)\nadmin %s\n", rand.Text()+rand.Text())
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("api tokens: %w", err)
	}
	return path, nil
}

// clientToken finds the bearer token a CLI command sends: --api-token-file
// (a bare token, or a tokens file whose highest role is used), else
// $HINTFLEET_API_TOKEN, else the tokens file the endpoints name. Empty when
// none is found (the API then answers 401 unless it runs --insecure).
func clientToken(file, endpointsFile string) (string, error) {
	if file == "" {
		if t := os.Getenv(envAPIToken); t != "" {
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
	toks, err := coordinator.ReadTokens(strings.NewReader(text), file)
	if err != nil {
		return "", err
	}
	best := coordinator.Token{}
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

// apiHTTPClient is the CLI's HTTP client for the API: the CA that verifies
// an https API, and a client certificate when one is the credential.
func apiHTTPClient(ca, cert, key string) (*http.Client, error) {
	hc := &http.Client{Timeout: time.Minute}
	if ca == "" && cert == "" && key == "" {
		return hc, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pool, err := certPool(ca)
		if err != nil {
			return nil, fmt.Errorf("--api-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if cert != "" || key != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--api-cert/--api-cert-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	hc.Transport = &http.Transport{TLSClientConfig: cfg}
	return hc, nil
}

func certPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// bearerFor wraps rt so that requests to api's host (and only those) carry
// the token.
func bearerFor(api, token string, rt http.RoundTripper) (http.RoundTripper, error) {
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
