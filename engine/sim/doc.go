// Package sim is a SIMULATED GPU inference server. It is not a model and runs
// no neural network: it exists so that every hintfleet test and demo can run
// on machines without a GPU, against something that behaves like vLLM where
// hintfleet depends on vLLM's behaviour.
//
// What is faithful:
//   - The wire format of the engine named by Config.Dialect — vLLM's current
//     release (the default), vLLM v0.9, SGLang, llama.cpp's server or TGI;
//     dialect.go says which release of each it follows — for POST
//     /v1/completions (streamed as SSE and not), GET /v1/models, GET /health,
//     the engine's tokenizer, template and info routes, and GET /metrics
//     (Prometheus text with that engine's metric names), including its error
//     bodies and status codes for each refusal, its context-length rule
//     (refuse, or truncate as llama.cpp and TGI do), how it reports stop
//     strings, finish reasons and usage, and how a failure mid-stream looks.
//     testdata/<dialect>/ holds the goldens.
//   - The shape of GPU time: one scheduler goroutine runs continuous batching
//     (up to MaxNumSeqs sequences per step, a decode step costs a+b·batch),
//     prefill costs time per uncached prompt token, a KV cache of fixed size
//     makes requests wait when full, and automatic prefix caching makes a
//     repeated long prefix cheap. Speedup divides every duration so tests run
//     far faster than real time with the same ratios; SlowDown multiplies them
//     at run time for adaptive-concurrency tests.
//
// What is scripted: the text. A deterministic Reasoner KNOWS THE REFERENCE
// ANSWERS of the problems it is given and writes QwQ-style reasoning around
// them, with a configurable accuracy, and reacts to hintfleet's hints: after
// a hint that mentions Python it writes a real ```python block that computes
// the answer, and after an ```output block it answers with what the output
// says. Accuracy figures measured against this server therefore say nothing
// about any real model; they only exercise the pipeline.
//
// Other tools (fence.go): a hint that names a fence in its text ("… in a
// ```bash block", "a ```mcp:everything.echo call with {"message":
// "<answer>"}") gets a block in that language, with the JSON object after the
// name as its body ("<answer>" filled in); a hint that ends in an opened
// fence (```bash and a newline) gets that fence's body and closing line; and
// ReasonerConfig.Tools maps words of a hint ("shell") to a language and body
// without touching the hints. Built-in bodies print the reference answer: a
// printf for shells (a python3 here-document for code problems), print for
// Perl, puts for Ruby, console.log for JavaScript, SELECT for SQL; {} for MCP
// (a hint gives the JSON); the answer alone for any other language.
//
// Fault knobs (500s, 503 when the queue is full, dropped connections, latency
// spikes) are seeded so that failures are reproducible. Injections
// (Knobs.Inject: abort, error and repetition finishes, a stop token id, an
// error event mid-stream, a restart, and four kinds of garbage) and Down (503
// on /health) give clients every finish and failure real engines produce.
package sim
