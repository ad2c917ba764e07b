package hint

import "errors"

// Errors callers branch on. Match them with errors.Is.
var (
	// ErrConfig wraps every problem Config.Validate reports.
	ErrConfig = errors.New("hint: invalid config")
	// ErrTemplate is returned for a template that does not parse or render.
	ErrTemplate = errors.New("hint: bad template")
	// ErrUnknownTemplate is returned by BuiltinTemplate for a name it lacks.
	ErrUnknownTemplate = errors.New("hint: unknown template")
	// ErrLibrary is returned for a hint library file that does not parse.
	ErrLibrary = errors.New("hint: bad hint library")
	// ErrEngine wraps an error the Generator returned; the trajectory
	// finishes with reason error and keeps the text so far.
	ErrEngine = errors.New("hint: engine")
	// ErrTool wraps an error the ToolSession returned (the tool failed, not
	// the code); the trajectory finishes with reason error.
	ErrTool = errors.New("hint: tool")
	// ErrNoFinish is wrapped when a stream ends without a finish reason, as a
	// truncated SSE stream does.
	ErrNoFinish = errors.New("hint: stream ended without finish reason")
	// ErrInterrupted is wrapped by a Generator's stream error when the
	// engine broke the request off but may serve the next one (a connection
	// cut, an engine restart, an error event mid-stream): Run resumes from
	// the text so far, up to Config.Resumes times in a row.
	ErrInterrupted = errors.New("hint: engine interrupted the request")
	// ErrWallTime is the cause set when Config.WallTime runs out; the
	// trajectory then finishes with reason budget.
	ErrWallTime = errors.New("hint: wall-time budget exhausted")
)
