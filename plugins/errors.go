package plugins

import "errors"

// Errors callers branch on. They survive the gRPC boundary: the adapters map
// them to status codes and back, so errors.Is works on the host for an error
// a plugin returned.
var (
	// ErrUnknownSession: the session was never opened, was closed, or
	// expired. Carried as codes.NotFound.
	ErrUnknownSession = errors.New("unknown session")
	// ErrInvalidRequest: the request is malformed (empty code, bad option).
	// Carried as codes.InvalidArgument.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrUnavailable: the tool cannot serve now (shutting down, pool
	// exhausted, plugin process gone). Carried as codes.Unavailable.
	ErrUnavailable = errors.New("tool unavailable")
)
