package protocol

import "errors"

// ErrVersion is wrapped by DecodeTask and DecodeResult for a message of a
// major version this build does not speak. The message is not retried: the
// caller dead-letters its task with the error as the reason.
var ErrVersion = errors.New("unsupported protocol version")
