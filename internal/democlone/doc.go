// Package democlone holds no code, only the test that a plain `git clone`
// of hintfleet builds and runs its demo: the datasets come from the
// repository itself (package datasets), not from a folder beside it, and no
// HINTFLEET_* variable is needed. It guards issue 10's first promise
// against a file left untracked, a .gitignore that swallows data, or a
// script that looks outside the clone.
package democlone
