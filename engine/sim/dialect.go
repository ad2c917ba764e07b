package sim

import (
	"fmt"
	"strings"
)

// Dialect is the engine whose wire format the simulator speaks. Each one
// follows a release of that engine's server as its source reads; the
// simulator's scheduler, KV cache and reasoner are the same under all of
// them, only what crosses the wire differs.
type Dialect string

// The dialects. DialectVLLM is the default and means vLLM's current release.
const (
	// DialectVLLM follows vLLM main as of late 2025 (v0.11–v0.13 line):
	// vllm/entrypoints/openai/completion/{protocol,serving}.py and the
	// renderer's length check (vllm/renderers/params.py). Errors are nested,
	// {"error":{"message","type","param","code"}}; a prompt over the room
	// max_tokens leaves is refused with param "input_tokens" and the text
	// "You passed P input tokens and requested M output tokens. However, the
	// model's context length is only L tokens, resulting in a maximum input
	// length of L-M tokens." (the wording of a recorded reply); max_tokens over
	// max_model_len is refused with param "max_tokens". A missing model is
	// accepted; stream_options without stream is a 400. Finish reasons stop,
	// length, abort, error, repetition; stop_reason is the stop string or the
	// stop token id (an integer). A failure mid-stream is one
	// `data: {"error":{…}}` event followed by `data: [DONE]`. /tokenize takes
	// a prompt or chat messages (applying the model's chat template),
	// /detokenize turns ids back into text. Metrics: vllm:num_requests_running,
	// vllm:num_requests_waiting, vllm:kv_cache_usage_perc,
	// vllm:prefix_cache_{queries,hits}_total, vllm:num_preemptions_total,
	// vllm:time_to_first_token_seconds, labels model_name and engine.
	DialectVLLM Dialect = "vllm"
	// DialectVLLM09 follows vLLM v0.9.2: the flat error body
	// {"object":"error","message","type","param","code"}, the refusal "This
	// model's maximum context length is L tokens. However, you requested T
	// tokens (P in the messages, M in the completion).", and the v0 metric
	// names vllm:gpu_cache_usage_perc and vllm:gpu_prefix_cache_*_total.
	DialectVLLM09 Dialect = "vllm-0.9"
	// DialectSGLang follows SGLang v0.5 (python/sglang/srt/entrypoints/
	// openai/{protocol,serving_completions,serving_tokenize}.py and the
	// tokenizer manager's length check). Flat error bodies; a prompt at or
	// over the context is refused with "The input (P tokens) is longer than
	// the model's context length (L tokens).", prompt plus max_tokens AT OR
	// OVER the context with "Requested token count exceeds the model's maximum
	// context length of L tokens. You requested a total of T tokens: P tokens
	// from the input messages and M tokens for the completion." (SGLang keeps
	// one token free). The model name is not checked. Choices carry
	// matched_stop (the stop string or token id) instead of stop_reason.
	// /v1/tokenize and /v1/detokenize take prompts only (no chat messages);
	// /v1/models states max_model_len. Metrics: sglang:num_running_reqs,
	// sglang:num_queue_reqs, sglang:token_usage, sglang:cache_hit_rate,
	// sglang:cached_tokens_total, sglang:num_retracted_reqs (gauge, the last
	// batch) and sglang:num_retracted_requests_total (counter).
	DialectSGLang Dialect = "sglang"
	// DialectLlamaCpp follows llama.cpp's server (tools/server, builds of late
	// 2025): errors {"error":{"code","message","type"}}; a prompt of n_ctx
	// tokens or more is refused with type exceed_context_size_error and the
	// fields n_prompt_tokens and n_ctx, but prompt plus max_tokens over n_ctx
	// is NOT refused: generation stops when the slot is full (one token short
	// of n_ctx) with finish_reason "length" (truncated in /completion). The
	// context length is /props' default_generation_settings.n_ctx; /v1/models
	// states only the training context (meta.n_ctx_train). Finish reasons are
	// stop and length only; a failure mid-stream is one data: {"error":…}
	// event and the stream ends without [DONE]. /tokenize {content},
	// /apply-template {messages}; /health answers 503 while the model loads.
	// /metrics (with --metrics) serves llamacpp:requests_processing,
	// llamacpp:requests_deferred, llamacpp:prompt_tokens_total,
	// llamacpp:tokens_predicted_total and throughput gauges, no labels.
	DialectLlamaCpp Dialect = "llamacpp"
	// DialectTGI follows text-generation-inference v3.3 (router/src/server.rs
	// and validation.rs at db931fc, January 2026). Errors are
	// {"error":"…","error_type":"validation"} with 422; the length check
	// counts at most 1024 of max_tokens ("`inputs` tokens + `max_new_tokens`
	// must be <= L. Given: P `inputs` tokens and m `max_new_tokens`"), and a
	// longer max_tokens runs until the context is full, finishing "length".
	// Streamed chunks carry finish_reason "" until the last, which says
	// "length", "eos_token" or "stop_sequence" (non-streamed: "stop" for EOS)
	// and keeps the matched stop sequence in the text. ids are empty. A
	// failure mid-stream is data: {"error":{"message","http_status_code"}}
	// followed by [DONE]. /info states max_input_tokens and max_total_tokens;
	// /tokenize {inputs} returns token objects; /chat_tokenize applies the
	// chat template. Metrics: tgi_queue_size, tgi_batch_current_size,
	// tgi_request_* histograms; no KV-cache, prefix-cache or preemption
	// series.
	DialectTGI Dialect = "tgi"
)

// Dialects lists every dialect, the default first.
func Dialects() []Dialect {
	return []Dialect{DialectVLLM, DialectVLLM09, DialectSGLang, DialectLlamaCpp, DialectTGI}
}

// ParseDialect reads a dialect name; "" is the default, vllm.
func ParseDialect(s string) (Dialect, error) {
	if s == "" {
		return DialectVLLM, nil
	}
	for _, d := range Dialects() {
		if string(d) == s {
			return d, nil
		}
	}
	names := make([]string, 0, 5)
	for _, d := range Dialects() {
		names = append(names, string(d))
	}
	return "", fmt.Errorf("%w: dialect %q: want one of %s", ErrInvalidConfig, s, strings.Join(names, ", "))
}

// Release says which release of the engine the dialect follows.
func (d Dialect) Release() string {
	switch d {
	case DialectVLLM:
		return "vLLM main, late 2025 (v0.11–v0.13)"
	case DialectVLLM09:
		return "vLLM v0.9.2"
	case DialectSGLang:
		return "SGLang v0.5 (main, late 2025)"
	case DialectLlamaCpp:
		return "llama.cpp server, late-2025 builds (tools/server)"
	case DialectTGI:
		return "text-generation-inference v3.3 (db931fc, January 2026)"
	}
	return "unknown"
}

// ownedBy is /v1/models' owned_by.
func (d Dialect) ownedBy(model string) string {
	switch d {
	case DialectSGLang:
		return "sglang"
	case DialectLlamaCpp:
		return "llamacpp"
	case DialectTGI:
		return model
	}
	return "vllm"
}

// checksModel says whether an unknown model name is refused (404).
func (d Dialect) checksModel() bool { return d == DialectVLLM || d == DialectVLLM09 }

// vllmLike says whether the dialect is one of vLLM's.
func (d Dialect) vllmLike() bool { return d == DialectVLLM || d == DialectVLLM09 }

// truncates says whether the engine runs a request whose prompt plus
// max_tokens exceeds the context until the context is full, instead of
// refusing it.
func (d Dialect) truncates() bool { return d == DialectLlamaCpp || d == DialectTGI }

// tgiChunk is TGI's cap on max_new_tokens in its length check
// (DEFAULT_GENERATION_LENGTH in router/src/validation.rs).
const tgiChunk = 1024

// stopTokenID is the token id the simulator reports when a sequence ends on
// a stop token rather than a stop string (Qwen's <|im_end|>).
const stopTokenID = 151645

// finishName maps the simulator's finish reason to the dialect's word, for a
// streamed chunk (stream) or a whole reply. stopStr says a stop string
// matched.
func (d Dialect) finishName(reason string, stopStr, stream bool) string {
	if d != DialectTGI {
		return reason
	}
	switch {
	case reason == finishStop && stopStr:
		return "stop_sequence"
	case reason == finishStop && stream:
		return "eos_token"
	}
	return reason
}
