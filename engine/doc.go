// Package engine is a client for inference engines that speak the
// OpenAI-compatible completions API: vLLM, SGLang, llama.cpp server and TGI.
//
// A Client sends raw-continuation requests to /v1/completions, either whole
// (Complete) or streamed as server-sent events (Stream), and reads the
// engine's /v1/models, /health and Prometheus /metrics. It knows nothing of
// tasks or hints: the hint session drives it through its own Generator
// interface.
//
// Streaming is the hot path of a worker, so the stream decoder reuses its
// buffers and decodes each event into a small struct; see bench_test.go for
// the overhead budget against the bare minimum any client must do.
//
// Engines differ on the wire; Info discovers which one is behind a Client and
// what it states (context length, tokenizer and template routes), and the
// client sizes, normalises (finish reasons, matched stops) and reads metrics
// per engine (docs/engines.md). ContextRefusal reads any engine's refusal for
// the context length, structured fields first.
//
// Failure is typed so that callers can branch on it: *StatusError for an
// engine's error reply (HTTP status or an error event inside the stream),
// *StreamCutError when the connection ends mid-stream, carrying the text
// received so far, *ProtocolError for an answer the client cannot use (not
// JSON, no choices, a negative token count, a stream past max_tokens), naming
// the engine and what it sent, and the sentinels ErrFirstTokenTimeout and
// ErrIdleTimeout.
// Requests are retried with backoff only while nothing has been delivered:
// on connection errors before a response, and on 429 and 503.
package engine
