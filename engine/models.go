package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Model is one entry of /v1/models. MaxModelLen and Root are vLLM's
// additions; other engines leave them zero.
type Model struct {
	ID          string `json:"id"`
	OwnedBy     string `json:"owned_by"`
	Created     int64  `json:"created"`
	Root        string `json:"root"`
	MaxModelLen int    `json:"max_model_len"`
}

// Models lists the models the engine serves.
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	b, err := c.get(ctx, "/v1/models", "application/json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Data []Model `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("engine: decode /v1/models: %w", err)
	}
	return list.Data, nil
}

// Health checks /health, which vLLM, SGLang, TGI and llama.cpp all serve: nil
// on 2xx, a *StatusError otherwise (llama.cpp answers 503 while loading).
// It is not retried, so that a probe reports the state now.
func (c *Client) Health(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, "/health", nil)
	if err != nil {
		return fmt.Errorf("engine: health: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("engine: health: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("engine: health: %w", statusError(resp))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	return nil
}
