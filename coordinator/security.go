package coordinator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Where the API's credentials come from besides files. Like every secret,
// they are never a flag value. (Where the API is: cluster.Find.)
const (
	// EnvAPIToken is the bearer token a client sends.
	EnvAPIToken = "HINTFLEET_API_TOKEN"
	// EnvAPITokens holds a coordinator's tokens, `ROLE TOKEN` per line.
	EnvAPITokens = "HINTFLEET_API_TOKENS"
)

// Security is the serving side of the API's security as a command line
// gives it (files, never secrets): who may call it, over what.
type Security struct {
	// TokensFile holds `ROLE TOKEN` lines (LoadTokensFile); else
	// $HINTFLEET_API_TOKENS, else DefaultTokens (the file `up` generated,
	// as endpoints.json names it).
	TokensFile    string
	DefaultTokens string
	// TLSCert and TLSKey serve the API over TLS; TLSClientCA verifies
	// client certificates, and CertRoles (NAME=ROLE) make the verified
	// ones whose CN or SAN is NAME a credential of ROLE.
	TLSCert, TLSKey, TLSClientCA string
	CertRoles                    []string
	// MetricsOpen serves /metrics without a credential.
	MetricsOpen bool
	// Insecure serves the API to anyone (development only).
	Insecure bool
}

// Options turns s into the coordinator's auth and TLS options. Without
// Insecure, an API with no credential at all is an error.
func (s Security) Options() ([]Option, error) {
	var opts []Option
	if s.TLSCert != "" || s.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--api-tls-cert/--api-tls-key: %w", err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.TLSClientCA != "" {
			pool, err := certPool(s.TLSClientCA)
			if err != nil {
				return nil, fmt.Errorf("--api-tls-client-ca: %w", err)
			}
			cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
		}
		opts = append(opts, WithTLS(cfg))
	} else if s.TLSClientCA != "" || len(s.CertRoles) > 0 {
		return nil, errors.New("--api-tls-client-ca and --api-cert-role need --api-tls-cert and --api-tls-key")
	}
	if s.Insecure {
		return opts, nil
	}
	a := Auth{MetricsOpen: s.MetricsOpen}
	var err error
	switch {
	case s.TokensFile != "":
		a.Tokens, err = LoadTokensFile(s.TokensFile)
	case os.Getenv(EnvAPITokens) != "":
		a.Tokens, err = ReadTokens(strings.NewReader(os.Getenv(EnvAPITokens)), "$"+EnvAPITokens)
	case s.DefaultTokens != "":
		a.Tokens, err = LoadTokensFile(s.DefaultTokens)
	}
	if err != nil {
		return nil, err
	}
	for _, nr := range s.CertRoles {
		name, role, ok := strings.Cut(nr, "=")
		r, rerr := ParseRole(role)
		if !ok || name == "" || rerr != nil {
			return nil, fmt.Errorf("--api-cert-role %q: want NAME=ROLE with ROLE read, submit or admin", nr)
		}
		if a.CertRoles == nil {
			a.CertRoles = map[string]Role{}
		}
		a.CertRoles[name] = r
	}
	if len(a.Tokens) == 0 && len(a.CertRoles) == 0 {
		return nil, errors.New("the API has no credentials: give --api-tokens FILE (or $" + EnvAPITokens + ", or --endpoints of an `up` that generated them), or client certificates (--api-tls-client-ca, --api-cert-role); --insecure serves it to anyone")
	}
	return append(opts, WithAuth(a)), nil
}

// Server is a replica with its API's listener.
type Server struct {
	*Coordinator
	ln net.Listener
	// URL is the bound address as others reach it (AdvertiseURL; https
	// when served over TLS), what endpoints.json names.
	URL string
}

// Listen listens on addr and returns a replica with sec's options and
// then opts, advertising the bound address unless cfg.Advertise is set,
// so that port 0 works and standbys name a reachable leader. log hears
// where the named datasets come from (a --datasets-dir that cannot be
// read is an error here) and that an Insecure API serves anyone. Nothing
// runs until Run.
func Listen(conn *cluster.Conn, addr string, cfg Config, sec Security, log *slog.Logger, opts ...Option) (*Server, error) {
	sopts, err := sec.Options()
	if err != nil {
		return nil, err
	}
	origin, err := trajectory.DatasetsOrigin(cfg.DatasetsDir)
	if err != nil {
		return nil, fmt.Errorf("--datasets-dir: %w", err)
	}
	log.Info("named datasets", "from", origin)
	if sec.Insecure {
		log.Warn("INSECURE: the API serves anyone without credentials (--insecure)")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	s := &Server{ln: ln, URL: AdvertiseURL(ln.Addr())}
	if sec.TLSCert != "" {
		s.URL = "https://" + strings.TrimPrefix(s.URL, "http://")
	}
	if cfg.Advertise == "" {
		cfg.Advertise = s.URL
	}
	if s.Coordinator, err = New(conn, cfg, append(sopts, opts...)...); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return s, nil
}

// Run campaigns and leads (Coordinator.Run) and serves the API on the
// listener (Serve) until ctx ends or either fails.
func (s *Server) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.Coordinator.Run(gctx) })
	g.Go(func() error { return s.Serve(gctx, s.ln) })
	return g.Wait()
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
