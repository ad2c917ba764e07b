package coordinator

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Role is what an API credential may do. Each role includes the ones
// below it: read < submit < admin.
type Role int

// Roles, lowest first. RoleNone is no access (and the zero value).
const (
	RoleNone Role = iota
	// RoleRead reads jobs, their trajectories and dead letters.
	RoleRead
	// RoleSubmit also creates jobs.
	RoleSubmit
	// RoleAdmin also cancels jobs and lists workers.
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleSubmit:
		return "submit"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole parses "read", "submit" or "admin".
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleRead, RoleSubmit, RoleAdmin} {
		if s == r.String() {
			return r, nil
		}
	}
	return RoleNone, fmt.Errorf("role %q: want read, submit or admin", s)
}

// MinTokenBytes is the shortest API token accepted: shorter ones are
// guessable over the network.
const MinTokenBytes = 16

// Token is one bearer credential and its role.
type Token struct {
	Role Role
	// Secret is the bearer value. It is never logged: Token's String and
	// LogValue print the role only.
	Secret string
}

func (t Token) String() string { return "token(" + t.Role.String() + ")" }

// Auth says who may call the API: bearer tokens, client certificates, or
// both. The zero Auth admits nobody (but /healthz, and /metrics when
// MetricsOpen). Use it through WithAuth.
type Auth struct {
	// Tokens are the bearer tokens the API accepts.
	Tokens []Token
	// CertRoles maps a verified client certificate's names (its subject
	// CN, DNS, email and URI SANs) to a role; the highest matching role
	// wins. The TLS config must verify client certificates against a CA
	// (ClientAuth VerifyClientCertIfGiven or RequireAndVerifyClientCert).
	CertRoles map[string]Role
	// MetricsOpen serves /metrics without a credential; otherwise it needs
	// RoleRead.
	MetricsOpen bool
}

// Validate reports every problem with a, joined.
func (a Auth) Validate() error {
	var errs []error
	for i, t := range a.Tokens {
		if t.Role < RoleRead || t.Role > RoleAdmin {
			errs = append(errs, fmt.Errorf("%w: api token %d: no role", ErrInvalidConfig, i+1))
		}
		if len(t.Secret) < MinTokenBytes {
			errs = append(errs, fmt.Errorf("%w: api token %d (%s): shorter than %d bytes", ErrInvalidConfig, i+1, t.Role, MinTokenBytes))
		}
		if strings.ContainsAny(t.Secret, " \t\r\n") {
			errs = append(errs, fmt.Errorf("%w: api token %d (%s): contains white space", ErrInvalidConfig, i+1, t.Role))
		}
	}
	for name, r := range a.CertRoles {
		if name == "" || r < RoleRead || r > RoleAdmin {
			errs = append(errs, fmt.Errorf("%w: certificate role %q=%s: want a name and read, submit or admin", ErrInvalidConfig, name, r))
		}
	}
	if len(a.Tokens) == 0 && len(a.CertRoles) == 0 {
		errs = append(errs, fmt.Errorf("%w: api auth: no tokens and no certificate roles; nobody could call the API", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// ReadTokens parses a tokens file: one `ROLE TOKEN` per line, `#` starts a
// comment, blank lines are skipped. name is used in errors, which name the
// line but never echo a token.
func ReadTokens(r io.Reader, name string) ([]Token, error) {
	var (
		out  []Token
		errs []error
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			errs = append(errs, fmt.Errorf("%s:%d: want `ROLE TOKEN` (2 fields), got %d fields", name, n, len(f)))
			continue
		}
		role, err := ParseRole(f[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n, err))
			continue
		}
		if len(f[1]) < MinTokenBytes {
			errs = append(errs, fmt.Errorf("%s:%d: token shorter than %d bytes", name, n, MinTokenBytes))
			continue
		}
		out = append(out, Token{Role: role, Secret: f[1]})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read %s: %w", name, err))
	}
	return out, errors.Join(errs...)
}

// LoadTokensFile reads a tokens file (see ReadTokens). It refuses a file
// that others than its owner may read: a token there is as good as leaked.
func LoadTokensFile(path string) ([]Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("api tokens %s: mode %04o lets others read it; chmod 600", path, st.Mode().Perm())
	}
	return ReadTokens(io.LimitReader(f, 1<<20), path)
}

// authenticator is Auth compiled for requests: token digests, so every
// comparison has the same length and takes the same time.
type authenticator struct {
	digests   [][sha256.Size]byte
	roles     []Role
	certRoles map[string]Role
	metrics   bool
}

func newAuthenticator(a Auth) *authenticator {
	au := &authenticator{certRoles: a.CertRoles, metrics: a.MetricsOpen}
	for _, t := range a.Tokens {
		au.digests = append(au.digests, sha256.Sum256([]byte(t.Secret)))
		au.roles = append(au.roles, t.Role)
	}
	return au
}

// role returns the request's role, or an error wrapping ErrUnauthenticated.
// A bearer token is checked against every configured token, without
// stopping at a match, so the time taken says nothing about which token or
// how much of it matched.
func (a *authenticator) role(r *http.Request) (Role, error) {
	best := RoleNone
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		best = a.certRole(r.TLS.VerifiedChains[0][0])
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		if best != RoleNone {
			return best, nil
		}
		return RoleNone, fmt.Errorf("%w: no bearer token or client certificate", ErrUnauthenticated)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return RoleNone, fmt.Errorf("%w: Authorization header: want `Bearer TOKEN`", ErrUnauthenticated)
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	found := RoleNone
	for i := range a.digests {
		eq := subtle.ConstantTimeCompare(d[:], a.digests[i][:])
		found = Role(subtle.ConstantTimeSelect(eq, int(a.roles[i]), int(found)))
	}
	if found == RoleNone {
		return RoleNone, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	return max(found, best), nil
}

// certRole maps a verified leaf certificate's names to the highest role
// configured for any of them.
func (a *authenticator) certRole(c *x509.Certificate) Role {
	names := []string{c.Subject.CommonName}
	names = append(names, c.DNSNames...)
	names = append(names, c.EmailAddresses...)
	for _, u := range c.URIs {
		names = append(names, u.String())
	}
	best := RoleNone
	for _, n := range names {
		if r, ok := a.certRoles[n]; ok && n != "" {
			best = max(best, r)
		}
	}
	return best
}

// require wraps h so that it runs only for requests whose role is at least
// need: 401 without a valid credential, 403 with one of a lower role, both
// with a JSON error body. A nil authenticator admits everyone.
func (a *authenticator) require(need Role, h http.HandlerFunc) http.HandlerFunc {
	if a == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		got, err := a.role(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hintfleet"`)
			writeJSON(w, http.StatusUnauthorized, apiError{err.Error()})
			return
		}
		if got < need {
			writeJSON(w, http.StatusForbidden, apiError{fmt.Sprintf("%v: %s %s needs role %s, the credential has %s",
				ErrForbidden, r.Method, r.URL.Path, need, got)})
			return
		}
		h(w, r)
	}
}
