package engine

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Refusal is an engine's refusal of a request for the context length, read
// from its error reply. A client that sizes max_tokens from Info never gets
// one from a well-behaved engine; this is the fallback for engines that do
// not state their context length, and for estimates that came out low.
type Refusal struct {
	// Limit is the context length the engine named; 0 when it did not.
	Limit int
	// Prompt is the prompt's token count the engine named; 0 when it did
	// not. PromptAtLeast says the engine only counted up to a bound (vLLM's
	// newest message says "at least N").
	Prompt        int
	PromptAtLeast bool
	// MaxTokens is the max_tokens the engine read, 0 when it did not say.
	MaxTokens int
}

// contextPatterns read each engine's wording, newest first. Each names the
// groups it fills: l (limit), p (prompt), m (max tokens), al ("at least"),
// lm1 (a limit stated minus one: TGI's max input "less than N").
var contextPatterns = []*regexp.Regexp{
	// vLLM (renderer, late 2025): "You passed P input tokens and requested M
	// output tokens. However, the model's context length is only L tokens,
	// resulting in a maximum input length of …".
	regexp.MustCompile(`You passed (?P<p>\d+) input tokens and requested (?P<m>\d+) output tokens\. However, the model's context length is only (?P<l>\d+)`),
	// vLLM: "max_tokens=M cannot be greater than max_model_len=L".
	regexp.MustCompile(`max_(?:completion_)?tokens=(?P<m>\d+) ?cannot be greater than max_model_len=(?:max_total_tokens=)?(?P<l>\d+)`),
	// vLLM 0.18+: "This model's maximum context length is L tokens. However,
	// you requested M output tokens and your prompt contains at least P input
	// tokens".
	regexp.MustCompile(`maximum context length is (?P<l>\d+) tokens\. However, you requested (?P<m>\d+) output tokens and your prompt contains (?P<al>at least )?(?P<p>\d+) input tokens`),
	// vLLM ≤0.10 (and OpenAI): "… maximum context length is L tokens.
	// However, you requested T tokens (P in the messages, M in the
	// completion)".
	regexp.MustCompile(`maximum context length is (?P<l>\d+) tokens\. However, you requested \d+ tokens \((?P<p>\d+) in the messages, (?P<m>\d+) in the completion\)`),
	// vLLM ≤0.10, prompt alone too long.
	regexp.MustCompile(`maximum context length is (?P<l>\d+) tokens\. However, you requested (?P<p>\d+) tokens in the messages`),
	// vLLM 0.10–0.16: "'max_tokens' or 'max_completion_tokens' is too large:
	// M. This model's maximum context length is L tokens and your request has
	// P input tokens".
	regexp.MustCompile(`is too large: (?P<m>\d+)\. This model's maximum context length is (?P<l>\d+) tokens and your request has (?P<p>\d+) input tokens`),
	// SGLang.
	regexp.MustCompile(`maximum context length of (?P<l>\d+) tokens\. You requested a total of \d+ tokens: (?P<p>\d+) tokens from the input messages and (?P<m>\d+) tokens for the completion`),
	regexp.MustCompile(`The input \((?P<p>\d+) tokens\) is longer than the model's context length \((?P<l>\d+) tokens\)`),
	// llama.cpp (the structured n_prompt_tokens/n_ctx come first).
	regexp.MustCompile(`request \((?P<p>\d+) tokens\) exceeds the available context size \((?P<l>\d+) tokens\)`),
	// TGI.
	regexp.MustCompile("`inputs` tokens \\+ `max_new_tokens` must be <= (?P<l>\\d+)\\. Given: (?P<p>\\d+) `inputs` tokens and (?P<m>\\d+) `max_new_tokens`"),
	regexp.MustCompile("`inputs` must have less than (?P<lm1>\\d+) tokens\\. Given: (?P<p>\\d+)"),
}

// ContextRefusal reads err as a refusal for the context length. It looks at
// the structured fields first — llama.cpp's exceed_context_size_error with
// n_prompt_tokens and n_ctx, vLLM's param "input_tokens" — and at the
// engines' wording last. ok is false for any other error; a refusal whose
// numbers cannot be read is ok with zero fields.
func ContextRefusal(err error) (r Refusal, ok bool) {
	var se *StatusError
	if !errors.As(err, &se) {
		return r, false
	}
	switch se.StatusCode {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusOK:
	default:
		return r, false
	}
	if se.Type == "exceed_context_size_error" {
		var body struct {
			Error struct {
				NPrompt int `json:"n_prompt_tokens"`
				NCtx    int `json:"n_ctx"`
			} `json:"error"`
		}
		if json.Unmarshal(se.Body, &body) == nil && body.Error.NCtx > 0 {
			return Refusal{Limit: body.Error.NCtx, Prompt: body.Error.NPrompt}, true
		}
		ok = true
	}
	if se.Param == "input_tokens" {
		ok = true
	}
	for _, re := range contextPatterns {
		m := re.FindStringSubmatch(se.Message)
		if m == nil {
			continue
		}
		for i, name := range re.SubexpNames() {
			n, _ := strconv.Atoi(m[i])
			switch name {
			case "l":
				r.Limit = n
			case "lm1":
				r.Limit = n + 1
			case "p":
				r.Prompt = n
			case "m":
				r.MaxTokens = n
			case "al":
				r.PromptAtLeast = m[i] != ""
			}
		}
		return r, true
	}
	if !ok && strings.Contains(strings.ToLower(se.Message), "context length") && se.StatusCode != http.StatusOK {
		ok = true // a context refusal in words we do not know: no numbers
	}
	return r, ok
}
