package hint

import (
	"context"
	"time"
)

// GenRequest is one raw-continuation request. Prompt is the rendered prompt
// followed by all assistant text so far; the engine must not apply a chat
// template to it.
type GenRequest struct {
	Prompt string
	// MaxTokens caps this request's completion tokens; Run sets it to what
	// is left of the trajectory's token budget.
	MaxTokens int
	// Stop are stop strings; the engine excludes a matched one from the text
	// and reports it in Chunk.StopReason.
	Stop        []string
	Temperature float64
	TopP        float64
	// Seed, when set, makes sampling reproducible on engines that support it.
	Seed *int64
}

// Finish reasons a GenStream reports in Chunk.FinishReason.
const (
	GenStop   = "stop"   // EOS, an end-of-turn token or a stop string
	GenLength = "length" // MaxTokens or the context length
	// GenAbort and GenError: the engine gave up on the request (it was
	// aborted, or failed while generating). Run resumes from the text so
	// far, up to Config.Resumes times in a row, then fails with ErrEngine.
	GenAbort = "abort"
	GenError = "error"
	// GenRepetition: the engine's repetition detection ended a degenerate
	// loop. The trajectory finishes with reason repetition; it is not
	// retried, since the same decode would repeat itself again.
	GenRepetition = "repetition"
)

// Chunk is one streamed piece of a completion.
type Chunk struct {
	Text string
	// FinishReason is set on the last chunk: one of the Gen* reasons. Any
	// other value ends the trajectory with an error naming it.
	FinishReason string
	// StopReason is the stop string that ended the completion; empty for EOS
	// or an end-of-turn token the engine knows itself.
	StopReason string
	// CompletionTokens is the cumulative completion-token count of this
	// request when the engine reports usage per chunk; zero when unknown.
	CompletionTokens int
}

// Usage is what the engine reported for a whole request.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// GenStream is one streamed completion. It is used by one goroutine.
type GenStream interface {
	// Next returns the next chunk, io.EOF after the last one, or the error
	// that broke the stream.
	Next() (Chunk, error)
	// Close aborts the request if it is still running, which is how a cut
	// frees the engine's sequence. Run calls it exactly once, after a cut or
	// after io.EOF.
	Close() error
	// Usage is the request's usage as far as known: the engine's final usage
	// after io.EOF, or whatever the stream learned before Close.
	Usage() Usage
}

// Generator starts streamed completions. The engine package satisfies it
// through a small adapter; tests use a scripted fake.
type Generator interface {
	Generate(ctx context.Context, req GenRequest) (GenStream, error)
}

// ToolResult is what one tool call produced, as the model should see it.
type ToolResult struct {
	// Output is stdout and stderr merged in the order the model should read
	// them, including an error message for a timeout or crash.
	Output    string
	ExitCode  int
	ErrorKind string // "" when the code ran to completion; see plugins.ErrorKind
	Truncated bool   // the tool cut the output
	Duration  time.Duration
}

// ToolSession runs code for one trajectory; state (variables, files) persists
// across Exec calls of the same session. It is used by one goroutine.
type ToolSession interface {
	// Exec runs code written in the fence language lang (canonical: "python").
	// An error means the tool failed, not the code: failing code is a
	// ToolResult with a non-zero ExitCode or an ErrorKind.
	Exec(ctx context.Context, lang, code string) (ToolResult, error)
	// Languages lists the canonical fence languages the session runs.
	Languages() []string
	// Close ends the session and frees its interpreter.
	Close(ctx context.Context) error
}

// Tool opens sessions; the worker opens one per trajectory, passes it to Run
// and closes it afterwards. Run never opens or closes sessions itself.
type Tool interface {
	Open(ctx context.Context, trajectoryID string) (ToolSession, error)
}
