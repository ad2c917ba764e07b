package sim

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// script is the reasoner's plan for one problem under one seed: the text of
// every segment it may write, and the answer it holds so far.
type script struct {
	r      *Reasoner
	p      *trajectory.Problem
	base   uint64
	r1     bool   // R1-style template: thinking ends with </think>
	guess  string // the answer without tools
	answer string // the answer it holds now (changed by a tool output)
	code   string // the last code it wrote for the tool
}

func newScript(r *Reasoner, p *trajectory.Problem, base uint64, r1 bool) *script {
	sc := &script{r: r, p: p, base: base, r1: r1}
	rng := sc.rng(0, 0xacc)
	if p.Kind == trajectory.KindCode {
		sc.guess = p.Question + p.CanonicalCode
		if rng.Float64() >= r.cfg.Accuracy {
			sc.guess = p.Question + buggy(p.CanonicalCode)
		}
	} else {
		sc.guess = p.Answer
		if rng.Float64() >= r.cfg.Accuracy {
			sc.guess = perturb(p.Answer, rng)
		}
	}
	sc.answer = sc.guess
	return sc
}

func (sc *script) rng(k int, salt uint64) *rand.Rand {
	return rand.New(rand.NewPCG(sc.base, uint64(k)<<16^salt))
}

// enter updates what the script holds when segment k of kind starts.
func (sc *script) enter(k int, ins insertion) {
	switch ins.kind {
	case segCode:
		sc.code = sc.toolBody(k, ins.call)
	case segOutput:
		sc.answer = sc.readAnswer(ins.x)
	}
}

// readAnswer is the answer after an output block that says x.
func (sc *script) readAnswer(x string) string {
	if sc.p.Kind == trajectory.KindCode {
		if x != "" && sc.code != "" && strings.Contains(x, "passed") {
			return sc.code
		}
		return sc.guess
	}
	if x == "" {
		return sc.guess
	}
	return x
}

// toolCode is the program the script writes in segment k.
func (sc *script) toolCode(k int) string {
	buggyCode := sc.rng(k, 0xb06).Float64() < sc.r.cfg.BuggyCodeRate
	return ToolCode(*sc.p, buggyCode)
}

// segment is the full text of segment k written after ins; closed says
// whether </think> was already written.
func (sc *script) segment(k int, ins insertion, closed bool) string {
	kind, x := ins.kind, ins.x
	rng := sc.rng(k, uint64(kind)+1)
	var b strings.Builder
	switch kind {
	case segStart:
		b.WriteString(opening[rng.IntN(len(opening))])
		sc.reason(&b, rng, sc.r.cfg.ReasoningTokens*(50+rng.IntN(101))/100)
		fmt.Fprintf(&b, " So the answer should be %s.", sc.short(sc.guess))
		b.WriteString(sc.final(sc.guess, closed))
	case segCode:
		b.WriteString(sc.codeBlock(k, ins.call))
	case segOutput:
		answer := sc.readAnswer(x)
		switch {
		case sc.p.Kind == trajectory.KindCode && answer != sc.guess:
			b.WriteString("\nThe tests pass, so the implementation is correct.")
		case sc.p.Kind == trajectory.KindCode:
			b.WriteString("\nThe code did not pass the tests, so I'll go back to my earlier version of the function.")
		case x == "":
			fmt.Fprintf(&b, "\nThe code didn't give a usable result, so I'll rely on my earlier reasoning: the answer is %s.", sc.short(answer))
		default:
			fmt.Fprintf(&b, "\nThe code outputs %s, so the answer is %s.", x, x)
		}
		sc.reason(&b, rng, sc.r.cfg.ReasoningTokens/10)
		b.WriteString(sc.final(answer, closed))
	default: // segCont
		b.WriteString(" Let me re-examine my reasoning.")
		sc.reason(&b, rng, sc.r.cfg.ReasoningTokens/4)
		fmt.Fprintf(&b, " So the answer is still %s.", sc.short(sc.answer))
		b.WriteString(sc.final(sc.answer, closed))
	}
	return b.String()
}

// short names an answer inside a sentence; code answers are not repeated.
func (sc *script) short(answer string) string {
	if sc.p.Kind == trajectory.KindCode {
		return "the function above"
	}
	return answer
}

// final ends the thinking and states the answer in \boxed{} (or, for code,
// as a python block).
func (sc *script) final(answer string, closed bool) string {
	var b strings.Builder
	if sc.r1 && !closed {
		b.WriteString("\n</think>\n\n")
	} else {
		b.WriteString("\n\n")
	}
	switch {
	case sc.p.Kind == trajectory.KindCode:
		b.WriteString("```python\n" + answer + "\n```")
	case sc.r1:
		fmt.Fprintf(&b, "The answer is $\\boxed{%s}$.", answer)
	default:
		fmt.Fprintf(&b, "**Final Answer**\n\\[ \\boxed{%s} \\]", answer)
	}
	return b.String()
}

// reason appends paragraphs of sentences until about tokens tokens were
// written, some starting with "Wait," or "Alternatively,".
func (sc *script) reason(b *strings.Builder, rng *rand.Rand, tokens int) {
	nums := numberRE.FindAllString(sc.p.Question, 6)
	writeReasoning(b, rng, tokens, sc.r.cfg.WaitRate, sc.r.cfg.AltRate, nums)
}

var numberRE = regexp.MustCompile(`\d+(\.\d+)?`)

func writeReasoning(b *strings.Builder, rng *rand.Rand, tokens int, waitRate, altRate float64, nums []string) {
	written := 0
	inPara := 0
	prev := ""
	for written < tokens {
		var s string
		switch u := rng.Float64(); {
		case u < waitRate:
			s = "Wait, " + waits[rng.IntN(len(waits))]
		case u < waitRate+altRate:
			s = "Alternatively, " + alts[rng.IntN(len(alts))]
		case len(nums) > 0 && u < waitRate+altRate+0.1:
			s = fmt.Sprintf(withNumber[rng.IntN(len(withNumber))], nums[rng.IntN(len(nums))])
		default:
			s = steps[rng.IntN(len(steps))]
		}
		if s == prev {
			continue
		}
		prev = s
		if inPara >= 3 && rng.IntN(3) == 0 {
			b.WriteString("\n\n")
			inPara = 0
		} else {
			b.WriteString(" ")
		}
		b.WriteString(s)
		inPara++
		written += CountTokens(s) + 1
	}
}

// ramble is the text for a prompt about no known problem.
func (r *Reasoner) ramble(seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0x7a))
	var b strings.Builder
	b.WriteString("Let me think about this.")
	writeReasoning(&b, rng, r.cfg.ReasoningTokens/2, r.cfg.WaitRate, r.cfg.AltRate, nil)
	b.WriteString(" That is all I can say about it.")
	return b.String()
}

// fillerTokens are cycled when ignore_eos keeps a sequence going past its
// script, as a real model keeps sampling.
var fillerTokens = Tokenize(" Let me think about this a little more carefully.")

func fillerPiece(i int) string { return fillerTokens[i%len(fillerTokens)] }

// perturb returns a plausible wrong answer: a nearby number for numeric
// answers, the first number of an expression changed otherwise.
func perturb(answer string, rng *rand.Rand) string {
	deltas := []int64{1, -1, 2, -2, 10, 3}
	clean := strings.ReplaceAll(answer, ",", "")
	if n, err := strconv.ParseInt(clean, 10, 64); err == nil {
		return strconv.FormatInt(n+deltas[rng.IntN(len(deltas))], 10)
	}
	loc := regexp.MustCompile(`\d+`).FindStringIndex(answer)
	if loc == nil {
		return "2" + answer
	}
	n, err := strconv.ParseInt(answer[loc[0]:loc[1]], 10, 64)
	if err != nil {
		return "2" + answer
	}
	return answer[:loc[0]] + strconv.FormatInt(n+1, 10) + answer[loc[1]:]
}

// buggy returns a variant of a Python solution with one operator changed,
// or a body that returns None when none applies.
func buggy(code string) string {
	swaps := [][2]string{{"return True", "return False"}, {"return False", "return True"},
		{" + ", " - "}, {" - ", " + "}, {" * ", " + "}, {" == ", " != "}, {" < ", " >= "},
		{" > ", " <= "}, {"return ", "return not "}}
	for _, s := range swaps {
		if strings.Contains(code, s[0]) {
			return strings.Replace(code, s[0], s[1], 1)
		}
	}
	return "    return None\n"
}

var opening = []string{
	"Okay, so I need to solve this problem. Let me read it carefully.",
	"Alright, let me try to figure this out step by step.",
	"Okay, let's see. I need to work through this problem carefully.",
}

var steps = []string{
	"Let me think about what the question is really asking.",
	"First, I should write down what we know.",
	"So I need to combine these quantities in the right way.",
	"Let me set up the relationship step by step.",
	"If I substitute the values, I get a simpler expression.",
	"That seems reasonable so far.",
	"Let me compute this carefully.",
	"I should keep track of each quantity separately.",
	"Now I can simplify the expression.",
	"So far the numbers are consistent.",
	"This gives an intermediate result that I can use.",
	"I think the next step is to put everything together.",
	"Let me break the problem into smaller parts.",
	"Each part follows from the one before it.",
	"Hmm, this part needs a bit more care.",
	"That matches what the problem describes.",
}

var withNumber = []string{
	"The problem mentions %s, so that is one of the key values.",
	"Let me see how %s fits into the calculation.",
	"Using %s here gives the next quantity.",
}

var waits = []string{
	"let me double-check that calculation.",
	"did I read the problem correctly?",
	"that doesn't look right. Let me redo this part.",
	"I should make sure I didn't miss a case.",
	"let me verify this from the start.",
}

var alts = []string{
	"I could approach this from a different angle.",
	"maybe there's a simpler way to see this.",
	"I can check the result by working backwards.",
}
