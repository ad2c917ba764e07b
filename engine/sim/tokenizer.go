package sim

import (
	"unicode"
	"unicode/utf8"
)

// maxWordPiece is the longest run of letters kept as one token; longer words
// are split into pieces of wordPieceLen letters, roughly as BPE vocabularies
// split rare words.
const (
	maxWordPiece = 8
	wordPieceLen = 4
)

// Tokenize splits text into the simulator's tokens. It is deterministic and
// lossless (the pieces concatenated are text), so token counts agree between
// this server and any test that calls it. The rules imitate a BPE tokenizer
// closely enough for counting:
//   - a single space attaches to the piece that follows it (" word");
//   - a run of letters is one token, or pieces of 4 letters when longer than 8;
//   - every digit is its own token (as Qwen and Llama 3 split numbers);
//   - every other character (punctuation, symbols) is its own token;
//   - any other whitespace run (newlines, several spaces) is one token.
func Tokenize(text string) []string {
	var out []string
	scanTokens(text, func(piece string) { out = append(out, piece) })
	return out
}

// CountTokens returns len(Tokenize(text)) without allocating the pieces.
func CountTokens(text string) int {
	n := 0
	scanTokens(text, func(string) { n++ })
	return n
}

// scanTokens calls emit with each token of text, in order.
func scanTokens(text string, emit func(string)) {
	i := 0
	for i < len(text) {
		start := i
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == ' ' && i+1 < len(text) {
			next, _ := utf8.DecodeRuneInString(text[i+1:])
			if !unicode.IsSpace(next) {
				// The space joins the next piece.
				i++
				r, size = next, utf8.RuneLen(next)
				if size < 0 {
					size = 1
				}
			}
		}
		switch {
		case unicode.IsLetter(r):
			j := i
			letters := 0
			for j < len(text) {
				c, s := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsLetter(c) {
					break
				}
				j += s
				letters++
			}
			if letters <= maxWordPiece {
				emit(text[start:j])
				i = j
				continue
			}
			// Split the long word into pieces of wordPieceLen letters.
			k, n := i, 0
			for k < j {
				_, s := utf8.DecodeRuneInString(text[k:])
				k += s
				n++
				if n == wordPieceLen || k == j {
					emit(text[start:k])
					start, n = k, 0
				}
			}
			i = j
		case unicode.IsSpace(r):
			j := i + size
			for j < len(text) {
				c, s := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsSpace(c) {
					break
				}
				j += s
			}
			emit(text[start:j])
			i = j
		default:
			// Digits, punctuation, symbols and invalid bytes: one per token.
			i += size
			emit(text[start:i])
		}
	}
}
