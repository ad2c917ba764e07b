package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// vocab gives the simulator's token pieces stable integer ids, so that the
// tokenizer endpoints can answer with ids and turn them back into text. Ids
// are handed out in order of first sight; the map grows with the distinct
// pieces the server has tokenized, which the scripted text bounds.
type vocab struct {
	mu     sync.Mutex
	ids    map[string]int
	pieces []string
}

// firstID keeps the simulator's ids clear of small special-token ids.
const firstID = 1000

func (v *vocab) encode(text string) []int {
	pieces := Tokenize(text)
	out := make([]int, len(pieces))
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ids == nil {
		v.ids = map[string]int{}
	}
	for i, p := range pieces {
		id, ok := v.ids[p]
		if !ok {
			id = firstID + len(v.pieces)
			v.ids[p] = id
			v.pieces = append(v.pieces, p)
		}
		out[i] = id
	}
	return out
}

func (v *vocab) decode(ids []int) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	for _, id := range ids {
		i := id - firstID
		if i < 0 || i >= len(v.pieces) {
			return "", fmt.Errorf("token id %d out of vocabulary", id)
		}
		b.WriteString(v.pieces[i])
	}
	return b.String(), nil
}

// chatMessage is one chat message of a template request.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// applyChatTemplate renders messages with the simulated model's chat
// template, Qwen's ChatML, the format the scripted reasoner reads.
func applyChatTemplate(msgs []chatMessage, generationPrompt bool) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "<|im_start|>%s\n%s<|im_end|>\n", m.Role, m.Content)
	}
	if generationPrompt {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String()
}

// decodeBody reads a small JSON request body into v.
func decodeBody(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(v)
}

// registerTokenizer adds the dialect's tokenizer, template and model-info
// routes.
func (s *Server) registerTokenizer() {
	d := s.cfg.Dialect
	switch d {
	case DialectVLLM, DialectVLLM09:
		s.mux.HandleFunc("POST /tokenize", s.handleVLLMTokenize)
		s.mux.HandleFunc("POST /detokenize", s.handleVLLMDetokenize)
	case DialectSGLang:
		s.mux.HandleFunc("POST /v1/tokenize", s.handleSGLangTokenize)
		s.mux.HandleFunc("POST /v1/detokenize", s.handleSGLangDetokenize)
	case DialectLlamaCpp:
		s.mux.HandleFunc("POST /tokenize", s.handleLlamaTokenize)
		s.mux.HandleFunc("POST /detokenize", s.handleLlamaDetokenize)
		s.mux.HandleFunc("POST /apply-template", s.handleLlamaTemplate)
		s.mux.HandleFunc("GET /props", s.handleLlamaProps)
	case DialectTGI:
		s.mux.HandleFunc("POST /tokenize", s.handleTGITokenize)
		s.mux.HandleFunc("POST /chat_tokenize", s.handleTGIChatTokenize)
		s.mux.HandleFunc("GET /info", s.handleTGIInfo)
	}
}

func (s *Server) handleVLLMTokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model               string        `json:"model"`
		Prompt              *string       `json:"prompt"`
		Messages            []chatMessage `json:"messages"`
		AddGenerationPrompt *bool         `json:"add_generation_prompt"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("JSON decode error: %v", err))
		return
	}
	if req.Model != "" && req.Model != s.cfg.Model {
		s.cfg.Dialect.writeErr(w, &apiErr{status: http.StatusNotFound, msg: fmt.Sprintf("The model `%s` does not exist.", req.Model), param: "model"})
		return
	}
	var text string
	switch {
	case req.Prompt != nil:
		text = *req.Prompt
	case req.Messages != nil:
		text = applyChatTemplate(req.Messages, req.AddGenerationPrompt == nil || *req.AddGenerationPrompt)
	default:
		s.cfg.Dialect.writeErr(w, badRequest("Either prompt or messages must be provided."))
		return
	}
	ids := s.vocab.encode(text)
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "max_model_len": s.cfg.MaxModelLen, "tokens": ids, "token_strs": nil})
}

func (s *Server) handleVLLMDetokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tokens []int `json:"tokens"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("JSON decode error: %v", err))
		return
	}
	text, err := s.vocab.decode(req.Tokens)
	if err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"prompt": text})
}

func (s *Server) handleSGLangTokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Prompt json.RawMessage `json:"prompt"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("JSON decode error: %v", err))
		return
	}
	var text string
	if err := json.Unmarshal(req.Prompt, &text); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("Invalid prompt type: expected str or List[str]."))
		return
	}
	ids := s.vocab.encode(text)
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ids, "count": len(ids), "max_model_len": s.cfg.MaxModelLen})
}

func (s *Server) handleSGLangDetokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tokens []int `json:"tokens"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("Invalid input: 'tokens' must be a list of integers."))
		return
	}
	text, err := s.vocab.decode(req.Tokens)
	if err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("Error decoding tokens: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"text": text})
}

func (s *Server) handleLlamaTokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Content string `json:"content"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": s.vocab.encode(req.Content)})
}

func (s *Server) handleLlamaDetokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tokens []int `json:"tokens"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("%v", err))
		return
	}
	text, err := s.vocab.decode(req.Tokens)
	if err != nil {
		s.cfg.Dialect.writeErr(w, badRequest("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content": text})
}

func (s *Server) handleLlamaTemplate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []chatMessage `json:"messages"`
	}
	if err := decodeBody(r, &req); err != nil || req.Messages == nil {
		s.cfg.Dialect.writeErr(w, badRequest("'messages' is required"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"prompt": applyChatTemplate(req.Messages, true)})
}

func (s *Server) handleLlamaProps(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"default_generation_settings": map[string]any{
			"n_ctx":  s.cfg.MaxModelLen,
			"params": map[string]any{"n_predict": -1},
		},
		"total_slots":   1,
		"model_path":    s.cfg.Model + ".gguf",
		"chat_template": "{# ChatML #}",
		"build_info":    llamaFingerprint,
	})
}

type tgiToken struct {
	ID    int    `json:"id"`
	Text  string `json:"text"`
	Start int    `json:"start"`
	Stop  int    `json:"stop"`
}

func (s *Server) tgiTokens(text string) []tgiToken {
	ids := s.vocab.encode(text)
	pieces := Tokenize(text)
	out := make([]tgiToken, len(ids))
	at := 0
	for i, p := range pieces {
		out[i] = tgiToken{ID: ids[i], Text: p, Start: at, Stop: at + len(p)}
		at += len(p)
	}
	return out
}

func (s *Server) handleTGITokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Inputs string `json:"inputs"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.cfg.Dialect.writeErr(w, &apiErr{status: http.StatusUnprocessableEntity, msg: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.tgiTokens(req.Inputs))
}

func (s *Server) handleTGIChatTokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []chatMessage `json:"messages"`
	}
	if err := decodeBody(r, &req); err != nil || req.Messages == nil {
		s.cfg.Dialect.writeErr(w, &apiErr{status: http.StatusUnprocessableEntity, msg: "Input validation error: messages are required"})
		return
	}
	text := applyChatTemplate(req.Messages, true)
	writeJSON(w, http.StatusOK, map[string]any{"tokenize_response": s.tgiTokens(text), "templated_text": text})
}

func (s *Server) handleTGIInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"model_id": s.cfg.Model, "model_sha": nil, "model_pipeline_tag": "text-generation",
		"max_concurrent_requests": 128, "max_best_of": 2, "max_stop_sequences": 4,
		"max_input_tokens": s.cfg.MaxModelLen - 1, "max_total_tokens": s.cfg.MaxModelLen,
		"validation_workers": 2, "max_client_batch_size": 4, "router": "text-generation-router",
		"version": "3.3.6", "sha": nil, "docker_label": nil,
	})
}

// handleModels serves /v1/models in the dialect's shape.
func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	d := s.cfg.Dialect
	switch d {
	case DialectLlamaCpp:
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{
			"id": s.cfg.Model, "object": "model", "created": s.created, "owned_by": "llamacpp",
			"meta": map[string]any{"vocab_type": 2, "n_vocab": 151936, "n_ctx_train": 131072, "n_embd": 5120},
		}}})
		return
	case DialectTGI:
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{
			"id": s.cfg.Model, "object": "model", "created": 0, "owned_by": s.cfg.Model,
		}}})
		return
	}
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelCard{{
		ID: s.cfg.Model, Object: "model", Created: s.created, OwnedBy: d.ownedBy(s.cfg.Model),
		Root: s.cfg.Model, MaxModelLen: s.cfg.MaxModelLen,
	}}})
}
