package curate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Format is an SFT dataset format a trainer reads as is.
type Format string

// Export formats.
const (
	// FormatMessages is chat JSONL, {"messages":[{role, content}…]}, as
	// OpenAI fine-tuning and TRL's SFTTrainer read it.
	FormatMessages Format = "messages"
	// FormatShareGPT is LLaMA-Factory's sharegpt: {"conversations":[{from, value}…]}.
	FormatShareGPT Format = "sharegpt"
	// FormatAlpaca is LLaMA-Factory's alpaca: {instruction, input, output}.
	FormatAlpaca Format = "alpaca"
	// FormatParquet is one row per example with the columns of ParquetRow.
	FormatParquet Format = "parquet"
)

// Formats lists the export formats in a stable order.
var Formats = []Format{FormatMessages, FormatShareGPT, FormatAlpaca, FormatParquet}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type messagesRow struct {
	Messages []Message `json:"messages"`
}

type sharegptTurn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

type sharegptRow struct {
	Conversations []sharegptTurn `json:"conversations"`
	System        string         `json:"system,omitempty"`
}

type alpacaRow struct {
	Instruction string `json:"instruction"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	System      string `json:"system,omitempty"`
}

// ParquetRow is the documented Parquet schema: one trained example per row,
// with enough provenance to trace it back to its trajectory.
type ParquetRow struct {
	TaskID    string `parquet:"task_id"`
	ProblemID string `parquet:"problem_id"`
	Dataset   string `parquet:"dataset"`
	System    string `parquet:"system,optional"`
	Prompt    string `parquet:"prompt"`   // the user turn (the question)
	Response  string `parquet:"response"` // the assistant turn, hints and outputs included
	Answer    string `parquet:"answer"`
	ToolCalls int32  `parquet:"tool_calls"`
	Hints     int32  `parquet:"hints"`
	Tokens    int32  `parquet:"completion_tokens"`
}

// Exporter writes kept trajectories in one format, streaming: JSONL formats
// write a line per example; Parquet buffers row groups of parquet-go's size.
type Exporter struct {
	format Format
	path   string
	system string
	f      *os.File
	jw     *trajectory.Writer
	pw     *parquet.GenericWriter[ParquetRow]
	n      int
}

// NewExporter creates path (truncating it) for format. system, when not
// empty, is the system prompt every example carries.
func NewExporter(format Format, path, system string) (*Exporter, error) {
	e := &Exporter{format: format, path: path, system: system}
	switch format {
	case FormatMessages, FormatShareGPT, FormatAlpaca:
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("export %s: %w", path, err)
		}
		w, err := trajectory.OpenWriter(path)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", path, err)
		}
		e.jw = w
	case FormatParquet:
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", path, err)
		}
		e.f = f
		e.pw = parquet.NewGenericWriter[ParquetRow](f)
	default:
		return nil, fmt.Errorf("export %s: unknown format %q (want one of %v)", path, format, Formats)
	}
	return e, nil
}

// question is the user turn: the raw question where the trajectory kept it.
func question(t *trajectory.Trajectory) string {
	if t.Question != "" {
		return t.Question
	}
	return t.Prompt
}

// Write adds one example.
func (e *Exporter) Write(t *trajectory.Trajectory) error {
	q, a := question(t), t.Text
	var err error
	switch e.format {
	case FormatMessages:
		row := messagesRow{}
		if e.system != "" {
			row.Messages = append(row.Messages, Message{"system", e.system})
		}
		row.Messages = append(row.Messages, Message{"user", q}, Message{"assistant", a})
		err = e.jw.Append(row)
	case FormatShareGPT:
		err = e.jw.Append(sharegptRow{System: e.system, Conversations: []sharegptTurn{{"human", q}, {"gpt", a}}})
	case FormatAlpaca:
		err = e.jw.Append(alpacaRow{Instruction: q, Output: a, System: e.system})
	case FormatParquet:
		_, err = e.pw.Write([]ParquetRow{{
			TaskID: t.TaskID, ProblemID: t.ProblemID, Dataset: t.Dataset, System: e.system,
			Prompt: q, Response: a, Answer: t.Answer,
			ToolCalls: int32(t.ToolCalls), Hints: int32(t.Hints), Tokens: int32(t.Tokens.Completion),
		}})
	}
	if err != nil {
		return fmt.Errorf("export %s: task %s: %w", e.path, t.TaskID, err)
	}
	e.n++
	return nil
}

// Count is the number of examples written.
func (e *Exporter) Count() int { return e.n }

// Close flushes and syncs the file.
func (e *Exporter) Close() error {
	if e.jw != nil {
		return e.jw.Close()
	}
	if err := e.pw.Close(); err != nil {
		e.f.Close()
		return fmt.Errorf("export %s: %w", e.path, err)
	}
	if err := e.f.Sync(); err != nil {
		e.f.Close()
		return fmt.Errorf("export %s: %w", e.path, err)
	}
	return e.f.Close()
}

// DatasetInfo returns LLaMA-Factory's dataset_info.json entry for a file
// written in format, to merge into its dataset_info.json under name.
func DatasetInfo(format Format, file string) (map[string]any, error) {
	switch format {
	case FormatShareGPT:
		return map[string]any{
			"file_name":  filepath.Base(file),
			"formatting": "sharegpt",
			"columns":    map[string]string{"messages": "conversations", "system": "system"},
			"tags":       map[string]string{"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
		}, nil
	case FormatAlpaca:
		return map[string]any{
			"file_name": filepath.Base(file),
			"columns":   map[string]string{"prompt": "instruction", "query": "input", "response": "output", "system": "system"},
		}, nil
	case FormatMessages:
		return map[string]any{
			"file_name":  filepath.Base(file),
			"formatting": "sharegpt",
			"columns":    map[string]string{"messages": "messages"},
			"tags": map[string]string{"role_tag": "role", "content_tag": "content", "user_tag": "user",
				"assistant_tag": "assistant", "system_tag": "system"},
		}, nil
	}
	return nil, fmt.Errorf("dataset_info: LLaMA-Factory reads %s through its own loader, no entry", format)
}

// WriteDatasetInfo writes dir/dataset_info.json with one entry per format
// file, keyed by name_format.
func WriteDatasetInfo(dir, name string, files map[Format]string) error {
	info := map[string]any{}
	for f, file := range files {
		entry, err := DatasetInfo(f, file)
		if err != nil {
			continue
		}
		info[name+"_"+strings.ToLower(string(f))] = entry
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("dataset_info: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dataset_info.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("dataset_info: %w", err)
	}
	return nil
}

// ReadParquet reads back an exported Parquet file, for checks and tests.
func ReadParquet(path string) ([]ParquetRow, error) {
	rows, err := parquet.ReadFile[ParquetRow](path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}
