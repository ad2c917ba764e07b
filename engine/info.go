package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Dialect names the engine behind a Client, as far as it matters on the
// wire: where it states its context length, which tokenizer and chat-template
// routes it has, how it refuses and how it finishes.
type Dialect string

// The engines the client knows. DialectUnknown speaks plain OpenAI
// completions and states nothing.
const (
	DialectUnknown  Dialect = ""
	DialectVLLM     Dialect = "vllm"
	DialectSGLang   Dialect = "sglang"
	DialectLlamaCpp Dialect = "llamacpp"
	DialectTGI      Dialect = "tgi"
)

// ErrUnsupported is returned for a feature the engine has no route for, such
// as rendering a chat template on SGLang.
var ErrUnsupported = errors.New("engine: not supported by this engine")

// Info is what an engine states about itself, read once per Client.
type Info struct {
	Dialect Dialect
	// Model is the served model's id.
	Model string
	// ContextLen is the context length in tokens (prompt plus completion);
	// 0 when the engine does not say.
	ContextLen int
	// Slack is how many tokens of the context the engine keeps free: SGLang
	// refuses prompt+max_tokens equal to the context, llama.cpp stops one
	// token short of it.
	Slack int
}

// Room is the most completion tokens a prompt of promptTokens leaves, or 0
// when the context length is unknown or full.
func (i Info) Room(promptTokens int) int {
	if i.ContextLen == 0 {
		return 0
	}
	return max(i.ContextLen-promptTokens-i.Slack, 0)
}

// reportsStop says whether the engine names the stop string that ended a
// completion; where it does not, the client matches stop strings itself.
func (d Dialect) reportsStop() bool { return d != DialectLlamaCpp && d != DialectTGI }

// WithDialect fixes the engine's dialect instead of discovering it, for an
// engine behind a proxy that hides its /v1/models owner.
func WithDialect(d Dialect) Option {
	return func(c *Client) error {
		switch d {
		case DialectVLLM, DialectSGLang, DialectLlamaCpp, DialectTGI:
			c.dialect = d
			return nil
		}
		return fmt.Errorf("WithDialect: unknown dialect %q", d)
	}
}

// infoCache holds a Client's discovered Info.
type infoCache struct {
	mu   sync.Mutex
	info *Info
}

// dialectFor returns the engine's dialect for the request path: WithDialect's,
// or the one Info discovered, or DialectUnknown when Info has not run. It
// never asks the engine itself, so a bare Stream costs one request.
func (c *Client) dialectFor() Dialect {
	if c.dialect != DialectUnknown {
		return c.dialect
	}
	c.infos.mu.Lock()
	defer c.infos.mu.Unlock()
	if c.infos.info != nil {
		return c.infos.info.Dialect
	}
	return DialectUnknown
}

// Info discovers what the engine states: /v1/models (owner, vLLM's and
// SGLang's max_model_len), then llama.cpp's /props (n_ctx) or TGI's /info
// (max_total_tokens) where /v1/models says nothing of the context. A
// successful answer is kept for the Client's life; a failed one is not, so
// the next call asks again.
func (c *Client) Info(ctx context.Context) (Info, error) {
	c.infos.mu.Lock()
	defer c.infos.mu.Unlock()
	if c.infos.info != nil {
		return *c.infos.info, nil
	}
	info, err := c.discover(ctx)
	if err != nil {
		return Info{}, err
	}
	c.infos.info = &info
	return info, nil
}

type modelEntry struct {
	ID          string          `json:"id"`
	OwnedBy     string          `json:"owned_by"`
	MaxModelLen int             `json:"max_model_len"`
	Meta        json.RawMessage `json:"meta"`
}

func (c *Client) discover(ctx context.Context) (Info, error) {
	var info Info
	b, err := c.get(ctx, "/v1/models", "application/json")
	if err != nil {
		return info, fmt.Errorf("engine %s: info: %w", c.BaseURL(), err)
	}
	var list struct {
		Data []modelEntry `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return info, c.protocolErr("/v1/models", "a model list that is not JSON", b, err)
	}
	if len(list.Data) == 0 {
		return info, c.protocolErr("/v1/models", "an empty model list", b, nil)
	}
	m := list.Data[0]
	for _, e := range list.Data {
		if e.ID == c.model {
			m = e
		}
	}
	info.Model, info.ContextLen = m.ID, m.MaxModelLen
	switch {
	case c.dialect != DialectUnknown:
		info.Dialect = c.dialect
	case m.OwnedBy == "vllm":
		info.Dialect = DialectVLLM
	case m.OwnedBy == "sglang":
		info.Dialect = DialectSGLang
	case m.OwnedBy == "llamacpp" || len(m.Meta) > 0:
		info.Dialect = DialectLlamaCpp
	}
	if info.ContextLen == 0 {
		c.probeContext(ctx, &info)
	}
	switch info.Dialect {
	case DialectSGLang, DialectLlamaCpp:
		info.Slack = 1
	}
	return info, nil
}

// probeContext asks llama.cpp's /props and TGI's /info for the context
// length; an engine without either keeps 0.
func (c *Client) probeContext(ctx context.Context, info *Info) {
	if info.Dialect == DialectUnknown || info.Dialect == DialectLlamaCpp {
		if b, err := c.getOnce(ctx, "/props"); err == nil {
			var p struct {
				Default struct {
					NCtx int `json:"n_ctx"`
				} `json:"default_generation_settings"`
			}
			if json.Unmarshal(b, &p) == nil && p.Default.NCtx > 0 {
				info.ContextLen, info.Dialect = p.Default.NCtx, DialectLlamaCpp
				return
			}
		}
	}
	if info.Dialect == DialectUnknown || info.Dialect == DialectTGI {
		if b, err := c.getOnce(ctx, "/info"); err == nil {
			var p struct {
				MaxTotal int    `json:"max_total_tokens"`
				Router   string `json:"router"`
			}
			if json.Unmarshal(b, &p) == nil && p.MaxTotal > 0 {
				info.ContextLen = p.MaxTotal
				if p.Router != "" || info.Dialect == DialectUnknown {
					info.Dialect = DialectTGI
				}
			}
		}
	}
}

// getOnce GETs path without retries; any non-2xx is an error.
func (c *Client) getOnce(ctx context.Context, path string) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusError(resp)
	}
	defer resp.Body.Close()
	return readLimited(resp.Body, maxJSONBody)
}

// postJSON POSTs body to path (with retries) and decodes a 2xx reply into
// out.
func (c *Client) postJSON(ctx context.Context, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("engine %s: %s: encode: %w", c.BaseURL(), path, err)
	}
	resp, cancel, err := c.send(ctx, http.MethodPost, path, raw, "application/json", nil)
	if err != nil {
		return fmt.Errorf("engine %s: %w", c.BaseURL(), err)
	}
	defer cancel(nil)
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, maxJSONBody)
	if err != nil {
		return fmt.Errorf("engine %s: %s: read reply: %w", c.BaseURL(), path, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return c.protocolErr(path, "a reply that does not decode", b, err)
	}
	return nil
}

// CountTokens asks the engine's tokenizer how many tokens text is, counted
// as a completion prompt (with the BOS token where the model adds one):
// vLLM's /tokenize, SGLang's /v1/tokenize, llama.cpp's /tokenize, TGI's
// /tokenize. ErrUnsupported for an engine of unknown dialect.
func (c *Client) CountTokens(ctx context.Context, text string) (int, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	switch info.Dialect {
	case DialectVLLM:
		var r struct {
			Count *int `json:"count"`
		}
		if err := c.postJSON(ctx, "/tokenize", map[string]any{"model": info.Model, "prompt": text, "add_special_tokens": true}, &r); err != nil {
			return 0, err
		}
		if r.Count == nil || *r.Count < 0 {
			return 0, c.protocolErr("/tokenize", "no token count", nil, nil)
		}
		return *r.Count, nil
	case DialectSGLang:
		var r struct {
			Count *int `json:"count"`
		}
		if err := c.postJSON(ctx, "/v1/tokenize", map[string]any{"model": info.Model, "prompt": text, "add_special_tokens": true}, &r); err != nil {
			return 0, err
		}
		if r.Count == nil || *r.Count < 0 {
			return 0, c.protocolErr("/v1/tokenize", "no token count", nil, nil)
		}
		return *r.Count, nil
	case DialectLlamaCpp:
		var r struct {
			Tokens []json.RawMessage `json:"tokens"`
		}
		if err := c.postJSON(ctx, "/tokenize", map[string]any{"content": text, "add_special": true}, &r); err != nil {
			return 0, err
		}
		return len(r.Tokens), nil
	case DialectTGI:
		var r []json.RawMessage
		if err := c.postJSON(ctx, "/tokenize", map[string]any{"inputs": text}, &r); err != nil {
			return 0, err
		}
		return len(r), nil
	}
	return 0, fmt.Errorf("engine %s: count tokens: %w", c.BaseURL(), ErrUnsupported)
}

// RenderChat renders one user message through the served model's own chat
// template, with the assistant's turn opened, as the engine would for a chat
// request: vLLM's /tokenize with messages then /detokenize, llama.cpp's
// /apply-template, TGI's /chat_tokenize. SGLang has no such route
// (ErrUnsupported).
func (c *Client) RenderChat(ctx context.Context, user string) (string, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return "", err
	}
	msgs := []map[string]string{{"role": "user", "content": user}}
	switch info.Dialect {
	case DialectVLLM:
		var tok struct {
			Tokens []int `json:"tokens"`
		}
		if err := c.postJSON(ctx, "/tokenize", map[string]any{"model": info.Model, "messages": msgs,
			"add_generation_prompt": true, "add_special_tokens": false}, &tok); err != nil {
			return "", err
		}
		var detok struct {
			Prompt *string `json:"prompt"`
		}
		if err := c.postJSON(ctx, "/detokenize", map[string]any{"model": info.Model, "tokens": tok.Tokens}, &detok); err != nil {
			return "", err
		}
		if detok.Prompt == nil {
			return "", c.protocolErr("/detokenize", "no prompt", nil, nil)
		}
		return *detok.Prompt, nil
	case DialectLlamaCpp:
		var r struct {
			Prompt *string `json:"prompt"`
		}
		if err := c.postJSON(ctx, "/apply-template", map[string]any{"messages": msgs}, &r); err != nil {
			return "", err
		}
		if r.Prompt == nil {
			return "", c.protocolErr("/apply-template", "no prompt", nil, nil)
		}
		return *r.Prompt, nil
	case DialectTGI:
		var r struct {
			Text *string `json:"templated_text"`
		}
		if err := c.postJSON(ctx, "/chat_tokenize", map[string]any{"model": "tgi", "messages": msgs}, &r); err != nil {
			return "", err
		}
		if r.Text == nil {
			return "", c.protocolErr("/chat_tokenize", "no templated_text", nil, nil)
		}
		return *r.Text, nil
	}
	return "", fmt.Errorf("engine %s (%s): render chat template: %w", c.BaseURL(), dialectName(info.Dialect), ErrUnsupported)
}

func dialectName(d Dialect) string {
	if d == DialectUnknown {
		return "unknown engine"
	}
	return string(d)
}

// ProtocolError is an engine answer the client cannot use: a reply or event
// that is not JSON, a chunk without choices, a negative token count, a
// stream that runs past max_tokens. It names the engine and carries what it
// sent, so that a bad engine is found from the error alone.
type ProtocolError struct {
	// Engine is the engine's base URL.
	Engine string
	// Route is the path asked, such as "/v1/completions".
	Route string
	// Problem says what is wrong, such as "a chunk without choices".
	Problem string
	// Data is what the engine sent (truncated).
	Data []byte
	// Err is the decoder's error, if any.
	Err error
}

// maxProtocolData bounds the engine data an error keeps.
const maxProtocolData = 512

func (e *ProtocolError) Error() string {
	msg := fmt.Sprintf("engine %s: %s sent %s: %q", e.Engine, e.Route, e.Problem, e.Data)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap makes ErrProtocol and the decoder's error match with errors.Is.
func (e *ProtocolError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrProtocol}
	}
	return []error{ErrProtocol, e.Err}
}

func (c *Client) protocolErr(route, problem string, data []byte, err error) *ProtocolError {
	if len(data) > maxProtocolData {
		data = data[:maxProtocolData]
	}
	return &ProtocolError{Engine: c.BaseURL(), Route: route, Problem: problem, Data: bytes.Clone(data), Err: err}
}
