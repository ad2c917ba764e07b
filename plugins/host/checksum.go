package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
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

// verifyChecksum checks path against want (hex, any case). It returns the
// state and, unless verified or skipped, the error that refuses the plugin.
func verifyChecksum(path, want string, skip bool) (ChecksumState, string, error) {
	got, err := FileSHA256(path)
	if err != nil {
		return ChecksumMismatch, "", err
	}
	switch {
	case skip:
		return ChecksumSkipped, got, nil
	case want == "":
		return ChecksumMissing, got, fmt.Errorf("plugin %s (sha256 %s): %w; put its sha256sum in the config or SHA256SUMS, or skip checks for development", path, got, ErrNoChecksum)
	case !strings.EqualFold(want, got):
		return ChecksumMismatch, got, &ChecksumError{Path: path, Want: strings.ToLower(want), Got: got}
	}
	return ChecksumVerified, got, nil
}
