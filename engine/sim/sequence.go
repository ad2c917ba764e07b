package sim

import (
	"strings"
	"time"
)

// Finish reasons, as vLLM reports them.
const (
	finishStop   = "stop"
	finishLength = "length"
)

// sequence is one request inside the engine. The handler that submitted it
// owns the read side (take); the scheduler goroutine owns generation. Every
// field below mu-guarded is guarded by engine.mu.
type sequence struct {
	id        string
	arrival   time.Time
	prompt    []string // prompt tokens
	hashes    []uint64 // full prompt blocks
	plan      []string // tokens the reasoner will emit before EOS
	ignoreEOS bool
	maxTokens int
	stop      []string
	inclStop  bool
	dropAt    int // drop the connection after this many tokens; -1 never

	// Guarded by engine.mu.
	generated   int             // tokens generated, EOS included
	raw         strings.Builder // every piece generated
	textLen     int             // bytes of raw that are output text
	emitted     int             // bytes of text released to the reader
	read        int             // bytes of text the reader has taken
	holdback    int             // longest stop string - 1
	finish      string          // "" while running
	stopReason  any             // matched stop string, or nil
	firstToken  time.Time       // wall time of the first token
	aborted     bool            // the reader went away
	done        bool            // left the engine (finished, aborted, closed)
	closed      bool            // the engine shut down under it
	running     bool            // admitted, holding KV blocks
	anonBlocks  int             // KV blocks held beyond the hashed prompt blocks
	needPrefill int             // tokens to compute when next admitted
	hitTokens   int             // prompt tokens found in the prefix cache
	notify      chan struct{}   // capacity 1: something to take
}

func newSequence(id string, now time.Time, prompt, plan []string) *sequence {
	return &sequence{
		id:      id,
		arrival: now,
		prompt:  prompt,
		hashes:  blockHashes(prompt),
		plan:    plan,
		dropAt:  -1,
		notify:  make(chan struct{}, 1),
	}
}

// generatedBlocks names the full KV blocks past the prompt that hold
// generated tokens, hashes chained on from the prompt's blocks, so that a
// later prompt made of this prompt and the generated text finds them.
func (s *sequence) generatedBlocks() []uint64 {
	n := min(s.generated, len(s.plan))
	all := (len(s.prompt) + n) / BlockSize
	if all <= len(s.hashes) {
		return nil
	}
	tokens := make([]string, 0, len(s.prompt)+n)
	tokens = append(append(tokens, s.prompt...), s.plan[:n]...)
	return blockHashes(tokens)[len(s.hashes):]
}

// signal wakes the reader without blocking the scheduler.
func (s *sequence) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// advance generates the sequence's next token: a planned piece, filler when
// ignore_eos outlasts the plan, or EOS. It applies stop strings and
// max_tokens, and returns whether the sequence finished.
func (s *sequence) advance(filler func(i int) string) bool {
	var piece string
	eos := false
	switch {
	case s.generated < len(s.plan):
		piece = s.plan[s.generated]
	case s.ignoreEOS:
		piece = filler(s.generated - len(s.plan))
	default:
		eos = true
	}
	s.generated++
	if eos {
		s.finishWith(finishStop, nil)
		return true
	}
	prev := s.raw.Len()
	s.raw.WriteString(piece)
	raw := s.raw.String()
	for _, st := range s.stop {
		from := max(prev-len(st)+1, 0)
		if i := strings.Index(raw[from:], st); i >= 0 {
			s.textLen = from + i
			if s.inclStop {
				s.textLen += len(st)
			}
			s.finishWith(finishStop, st)
			return true
		}
	}
	s.textLen = len(raw)
	if s.generated >= s.maxTokens {
		s.finishWith(finishLength, nil)
		return true
	}
	// Hold back a tail that could be the start of a stop string, as vLLM
	// does when streaming, so that a stop string never leaks out.
	s.emitted = max(s.textLen-s.holdback, s.emitted)
	return false
}

func (s *sequence) finishWith(reason string, stopReason any) {
	s.finish = reason
	s.stopReason = stopReason
	s.emitted = s.textLen
}

// take returns the text released since the last take, and whether the
// sequence is over. Called with engine.mu held.
func (s *sequence) take() (delta string, over bool) {
	if s.read < s.emitted {
		delta = s.raw.String()[s.read:s.emitted]
		s.read = s.emitted
	}
	return delta, s.done
}
