package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ChecksumState says how a plugin binary's checksum was treated.
type ChecksumState string

// Checksum states reported in PluginInfo.
const (
	ChecksumVerified ChecksumState = "verified" // matched the configured sha256
	ChecksumSkipped  ChecksumState = "skipped"  // InsecureSkipChecksum was set
	ChecksumMismatch ChecksumState = "mismatch" // refused to run
	ChecksumMissing  ChecksumState = "missing"  // no sha256 configured; refused
)

// FileSHA256 returns the hex SHA-256 of the file at path, as sha256sum
// prints it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verifyChecksum checks spec's binary against its configured sha256 (hex,
// any case). It returns the state, the file's sha256 and, unless verified
// or skipped, the error that refuses the plugin, which says how to fix it.
func verifyChecksum(spec PluginConfig, skip bool) (ChecksumState, string, error) {
	got, err := FileSHA256(spec.Path)
	if err != nil {
		return ChecksumMismatch, "", err
	}
	switch {
	case skip:
		return ChecksumSkipped, got, nil
	case spec.SHA256 == "":
		return ChecksumMissing, got, fmt.Errorf("plugin %s (sha256 %s): %w; %s", spec.Path, got, ErrNoChecksum, fixMissing(spec, got))
	case !strings.EqualFold(spec.SHA256, got):
		return ChecksumMismatch, got, &ChecksumError{Path: spec.Path, Want: strings.ToLower(spec.SHA256), Got: got, Origin: spec.Origin}
	}
	return ChecksumVerified, got, nil
}

// fixMissing says how to give a plugin its checksum.
func fixMissing(spec PluginConfig, got string) string {
	switch o := spec.Origin; {
	case o.Sums:
		return fmt.Sprintf("%s does not list it: `make plugins` rebuilds and sums the plugins it builds; for one of your own, `cd %s && sha256sum -- * > %s`",
			o.File, filepath.Dir(o.File), SumsFile)
	case o.File != "":
		return fmt.Sprintf("add `sha256: %s` to its entry at %s", got, o)
	default:
		return "set PluginConfig.SHA256"
	}
}
