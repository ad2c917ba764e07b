package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// completionRequest is the subset of vLLM's CompletionRequest the simulator
// reads. Like vLLM it ignores fields it does not know.
type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	MaxTokens     *int            `json:"max_tokens"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	Seed          *int64          `json:"seed"`
	Stop          json.RawMessage `json:"stop"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage         bool `json:"include_usage"`
		ContinuousUsageStats bool `json:"continuous_usage_stats"`
	} `json:"stream_options"`
	N *int `json:"n"`
	// vLLM extra sampling parameters.
	IgnoreEOS              bool `json:"ignore_eos"`
	IncludeStopStrInOutput bool `json:"include_stop_str_in_output"`
}

// prompt returns the single prompt string of the request.
func (r *completionRequest) prompt() (string, error) {
	if len(r.Prompt) == 0 || string(r.Prompt) == "null" {
		return "", fmt.Errorf("prompt is required")
	}
	var s string
	if err := json.Unmarshal(r.Prompt, &s); err == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(r.Prompt, &list); err == nil {
		if len(list) != 1 {
			return "", fmt.Errorf("the simulator serves one prompt per request, got %d", len(list))
		}
		return list[0], nil
	}
	return "", fmt.Errorf("prompt must be a string or a list of one string (token ids are not supported by the simulator)")
}

// stops returns the request's stop strings.
func (r *completionRequest) stops() ([]string, error) {
	if len(r.Stop) == 0 || string(r.Stop) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(r.Stop, &s); err == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(r.Stop, &list); err != nil {
		return nil, fmt.Errorf("stop must be a string or a list of strings")
	}
	return list, nil
}

type choice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
	StopReason   any     `json:"stop_reason"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// completionResponse is both vLLM's CompletionResponse and, with Usage nil
// or choices empty, a CompletionStreamResponse chunk.
type completionResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage"`
}

// apiError is vLLM's ErrorResponse body.
type apiError struct {
	Object  string `json:"object"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"`
	Code    int    `json:"code"`
}

// errorType names a status as vLLM's error types do.
func errorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BadRequestError"
	case http.StatusNotFound:
		return "NotFoundError"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailableError"
	default:
		return "InternalServerError"
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Object: "error", Message: msg, Type: errorType(status), Code: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"object":"error","message":"encode response","type":"InternalServerError","param":null,"code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type modelCard struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	Root        string `json:"root"`
	Parent      any    `json:"parent"`
	MaxModelLen int    `json:"max_model_len"`
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelCard `json:"data"`
}
