// Package hint implements Hint-infer (START, arXiv 2503.04625) as a state
// machine over streamed text.
//
// Run drives one trajectory: it renders the problem through a per-model
// Template, streams a raw continuation from a Generator, and scans the text
// incrementally as it arrives. Three things cut the stream:
//
//   - a trigger word ("Wait", "Alternatively") at a sentence start, when the
//     Policy lets it fire: the text is cut just before the word and a hint
//     from the Library is appended;
//   - the end of thinking (the template's marker such as "</think>", or the
//     model's own stop), while Policy.DeferStop allows: the stop is replaced by
//     a hint (sequential test-time scaling);
//   - a closed code fence in a language a ToolSession runs: the text is cut
//     right after the closing fence, the code is executed and an
//     "```output" block is appended.
//
// Every cut closes the stream, which aborts the engine request; decoding
// resumes with a new request whose prompt is the rendered prompt plus all
// text so far. Tokens the engine produced past a cut are counted as wasted.
//
// hint knows the engine and the tools only through the interfaces it declares
// here (Generator, Tool, ToolSession); it imports no network code, so it is
// tested with scripted fakes.
//
// # Stop strings and aborts
//
// Engine-side stop strings cost nothing (the engine stops before sending the
// match), but they match anywhere in the generated text and are excluded from
// it. hint passes as stop strings only what it wants to stop at wherever it
// appears:
//
//   - the template's end-of-turn strings (Template.Stop);
//   - the end-of-thinking markers (Template.ThinkEnd), only while a stop may
//     still be deferred, so that a deferral wastes no tokens;
//   - "```output", when a ToolSession is present, so that the model never
//     writes tool output itself.
//
// The closing fence of a code block is not passed: "```" also begins every
// opening fence, "```\n" also ends blocks that are not tool calls and opens a
// bare fence, and a stop string cannot require the line to be exactly the
// fence. Each false hit would cost a whole request. Instead the closing fence
// is recognised client-side and the stream is aborted; the tokens that
// arrived past the fence are counted in Tokens.Wasted. Triggers are cut the
// same way. The same markers are also recognised client-side, so a Generator
// that ignores Stop yields the same trajectory (with more waste).
//
// # Code fences
//
// A fence opens only at the start of a line (after optional spaces) with a
// run of three or more backticks and an info string without backticks; it
// closes only at a line holding a run of at least as many backticks and
// nothing else but spaces. So a "```" inside a Python string, or a fence
// opened mid-line, is text. The fence language is the first word of the info
// string, lowercased; "py" and "python3" mean "python". A fence with no
// language is a tool call only while the last hint inserted invites a tool
// language and no tool call has happened since: bare fences are common in
// reasoning text, but after "Wait, maybe using Python here is a good idea."
// a bare fence is the model's code.
//
// After Config.MaxToolCalls calls, the next closed tool fence ends decoding
// with finish reason tool_limit (cut after the fence). The paper caps tool
// calls; letting the model go on would only let it invent the output.
package hint
