package host

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Errors callers branch on.
var (
	// ErrChecksumMismatch: a plugin binary's SHA-256 is not the configured
	// one. The error in the chain is a *ChecksumError with both hashes.
	ErrChecksumMismatch = errors.New("plugin checksum mismatch")
	// ErrNoChecksum: a plugin has no configured SHA-256 and checksums are
	// not skipped.
	ErrNoChecksum = errors.New("plugin has no configured sha256")
	// ErrStaleSession: the session was opened on a plugin process that has
	// since died and been restarted; its state is gone. Open a new one.
	ErrStaleSession = errors.New("stale session: plugin restarted since it was opened")
	// ErrNoTool: no plugin handles the requested fence language.
	ErrNoTool = errors.New("no tool for language")
	// ErrClosed: the manager is closed.
	ErrClosed = errors.New("plugin manager closed")
)

// ChecksumError says which file failed the check, both hashes and where
// the expected one came from, so an operator can tell a stale config from a
// replaced binary and knows what to change.
type ChecksumError struct {
	Path   string
	Want   string // configured, hex
	Got    string // of the file on disk, hex
	Origin Origin // where Want came from
}

func (e *ChecksumError) Error() string {
	switch o := e.Origin; {
	case o.Sums:
		return fmt.Sprintf("plugin %s: sha256 is %s but %s says %s: rebuild and re-sum the plugins with `make plugins` (for a plugin of your own: `cd %s && sha256sum -- * > %s`)",
			e.Path, e.Got, o, e.Want, filepath.Dir(o.File), SumsFile)
	case o.File != "":
		return fmt.Sprintf("plugin %s: sha256 is %s but %s says %s: if the binary changed on purpose, set `sha256: %s` there",
			e.Path, e.Got, o, e.Want, e.Got)
	default:
		return fmt.Sprintf("plugin %s: sha256 is %s, PluginConfig.SHA256 is %s", e.Path, e.Got, e.Want)
	}
}

// Unwrap lets errors.Is match ErrChecksumMismatch.
func (e *ChecksumError) Unwrap() error { return ErrChecksumMismatch }
