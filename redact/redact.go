// Package redact holds Secret, the one type hintfleet keeps credentials in
// (NATS tokens and passwords, etcd passwords, engine API keys), so that every
// way a value can be printed — log/slog, fmt verbs, JSON and YAML — redacts
// it the same way. It imports nothing of hintfleet, so any package may use
// it.
package redact

import "log/slog"

// Redacted is what a non-empty Secret prints as.
const Redacted = "[redacted]"

// Secret holds a password, token, API key or similar. Its String, GoString,
// LogValue and MarshalText redact it, so a config holding one can be logged,
// printed with %+v or encoded for display without leaking; Reveal is the one
// way to read it, at the point of use. An empty Secret prints empty, so "not
// set" stays visible.
type Secret string

// Reveal returns the secret's value. Call it only where the value is handed
// to a client library or a request header, never to build a log line or
// error.
func (s Secret) Reveal() string { return string(s) }

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString redacts for %#v.
func (s Secret) GoString() string { return `redact.Secret("` + s.String() + `")` }

// LogValue redacts for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts, so a config encoded to JSON or YAML for display
// carries no secret. Secrets are read from files and the environment, never
// decoded from a displayed config, so there is no UnmarshalText.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
