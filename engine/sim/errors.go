package sim

import "errors"

// Sentinel errors.
var (
	// ErrInvalidConfig wraps every problem that Config.Validate or an Option
	// reports.
	ErrInvalidConfig = errors.New("sim: invalid config")
	// ErrClosed is returned by Start and Serve after Close.
	ErrClosed = errors.New("sim: server closed")
)
