package hint

import (
	"reflect"
	"strings"
	"testing"
)

// scanAll feeds text to a fresh scanner in the given chunks and returns every
// event, without cutting.
func scanAll(chunks []string, triggers, markers []string, end endKind) []event {
	s := newScanner(triggers, markers)
	var buf []byte
	var evs []event
	for _, c := range chunks {
		buf = append(buf, c...)
		for ev := s.next(buf, endMore); ev.kind != evNone; ev = s.next(buf, endMore) {
			evs = append(evs, ev)
		}
	}
	for ev := s.next(buf, end); ev.kind != evNone; ev = s.next(buf, end) {
		evs = append(evs, ev)
	}
	return evs
}

func describe(evs []event) []string {
	var out []string
	for _, e := range evs {
		switch e.kind {
		case evTrigger:
			out = append(out, "trigger "+e.word+"@"+itoa(e.pos))
		case evMarker:
			out = append(out, "marker "+e.word+"@"+itoa(e.pos))
		case evFence:
			out = append(out, "fence "+e.fence.lang+"@"+itoa(e.fence.start)+"-"+itoa(e.fence.end))
		}
	}
	return out
}

func TestScanner(t *testing.T) {
	trig := []string{"Wait", "Alternatively"}
	mark := []string{"</think>", OutputStop}
	tests := []struct {
		name string
		text string
		end  endKind
		want []string
	}{
		{"start of text", "Wait, no", endOther, []string{"trigger Wait@0"}},
		{"after period", "Yes. Wait so", endOther, []string{"trigger Wait@5"}},
		{"after question and bang", "A? Wait, b! Alternatively, c", endOther, []string{"trigger Wait@3", "trigger Alternatively@12"}},
		{"after newline", "x\nAlternatively, y", endOther, []string{"trigger Alternatively@2"}},
		{"mid sentence", "I Wait, and then, Wait", endOther, nil},
		{"longer word", "Waiting. Waits. Wait", endOther, nil},
		{"needs comma or space", "Wait! Wait.", endOther, nil},
		{"two spaces", "Yes.  Wait, no", endOther, nil},
		{"indented", "x\n  Wait, no", endOther, nil},
		{"inside fence", "```python\nWait, = 1\n```\nWait, ok", endOther, []string{"fence python@0-23", "trigger Wait@24"}},
		{"marker", "so </think> done", endOther, []string{"marker </think>@3"}},
		{"marker inside fence", "```\n</think>\n```\n", endOther, []string{"marker </think>@4", "fence @0-16"}},
		{"output marker line", "```\n```output\n1\n```\n", endOther, []string{"marker ```output@4", "fence @0-19"}},
		{"close needs its own line", "```python\nx = '```'\n``` x\n```", endEOS, []string{"fence python@0-29"}},
		{"close at end needs EOS", "```python\nx\n```", endOther, nil},
		{"four ticks", "````py\n```\n````\n", endOther, []string{"fence py@0-15"}},
		{"longer close ok", "```py\nx\n`````\n", endOther, []string{"fence py@0-13"}},
		{"mid-line opener", "see ```python\nx\n```\n", endOther, []string{}},
		{"inline code at line start", "```x``` y\nWait, z", endOther, []string{"trigger Wait@10"}},
		{"indented fence", "  ```Python3 extra\n  x\n  ```  \n", endOther, []string{"fence python3@0-28"}},
		{"opener needs newline", "```python", endEOS, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describe(scanAll([]string{tt.text}, trig, mark, tt.end))
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// The same events whatever the chunking.
			if b := describe(scanAll(bytewise(tt.text), trig, mark, tt.end)); !reflect.DeepEqual(b, got) {
				t.Errorf("bytewise: got %q, want %q", b, got)
			}
		})
	}
}

// checkEvents verifies what an event claims about the text.
func checkEvents(t *testing.T, text string, evs []event) {
	t.Helper()
	last := -1
	for _, e := range evs {
		pos := e.pos
		if e.kind == evFence {
			pos = e.fence.close
		}
		if pos < last {
			t.Fatalf("events out of order: %q", describe(evs))
		}
		last = pos
		switch e.kind {
		case evTrigger:
			p := e.pos
			if !strings.HasPrefix(text[p:], e.word) || p+len(e.word) >= len(text) || !strings.ContainsRune(", ", rune(text[p+len(e.word)])) {
				t.Fatalf("trigger %q@%d: not followed by comma or space in %q", e.word, p, text)
			}
			if p > 0 && text[p-1] != '\n' && !(p >= 2 && strings.Contains(". ? ! ", text[p-2:p])) {
				t.Fatalf("trigger %q@%d not at a sentence start in %q", e.word, p, text)
			}
		case evMarker:
			if !strings.HasPrefix(text[e.pos:], e.word) {
				t.Fatalf("marker %q@%d absent", e.word, e.pos)
			}
		case evFence:
			line := strings.TrimRight(text[e.fence.close:e.fence.end], " \t")
			if strings.Trim(line, " \t`") != "" || strings.Count(line, "`") < 3 {
				t.Fatalf("fence closed by %q", line)
			}
			if e.fence.start > 0 && text[e.fence.start-1] != '\n' {
				t.Fatalf("fence opened mid-line at %d", e.fence.start)
			}
		}
	}
}

func FuzzTrigger(f *testing.F) {
	for _, s := range []string{"Wait, no", "a. Wait so\nAlternatively, b", "x! Wai", "```\nWait, \n```\nWait "} {
		f.Add(s, uint(3))
	}
	trig := []string{"Wait", "Alternatively", "W"}
	mark := []string{"</think>"}
	f.Fuzz(func(t *testing.T, text string, split uint) {
		for _, end := range []endKind{endOther, endEOS} {
			whole := scanAll([]string{text}, trig, mark, end)
			checkEvents(t, text, whole)
			want := describe(whole)
			k := 0
			if len(text) > 0 {
				k = int(split % uint(len(text)))
			}
			for _, chunks := range [][]string{splitAt(k)(text), bytewise(text)} {
				if got := describe(scanAll(chunks, trig, mark, end)); !reflect.DeepEqual(got, want) {
					t.Fatalf("chunks %q: got %q, want %q", chunks, got, want)
				}
			}
		}
	})
}

func FuzzFence(f *testing.F) {
	for _, s := range []string{
		"```python\nprint(1)\n```\n", "````py\n```\n````", "a ```python\nx\n```", "```\nx\n```\n```output\n1\n```",
		"Wait, ```python\n", "```python\ns = '''\n```\n'''\n```",
	} {
		f.Add(s, uint(5), true)
	}
	f.Fuzz(func(t *testing.T, text string, split uint, eos bool) {
		end := endOther
		if eos {
			end = endEOS
		}
		mark := []string{OutputStop}
		whole := scanAll([]string{text}, DefaultTriggers, mark, end)
		checkEvents(t, text, whole)
		k := 0
		if len(text) > 0 {
			k = int(split % uint(len(text)))
		}
		if got, want := describe(scanAll(splitAt(k)(text), DefaultTriggers, mark, end)), describe(whole); !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: got %q, want %q", k, got, want)
		}
		// Through Run: the contract holds and chunking does not matter.
		c := runCase{resps: ok(text, text, text), cfg: Config{Policy: Policy{Mode: TriggerEvery, DeferStop: 1}, MaxHints: 2, MaxToolCalls: 2}}
		ref, _, _, _ := c.run(t, nil, false)
		if err := checkSteps(ref); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []func(string) []string{bytewise, splitAt(k)} {
			tr, _, _, _ := c.run(t, ch, true)
			if err := checkSteps(tr); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(essenceOf(tr), essenceOf(ref)) {
				t.Fatalf("chunking changed the trajectory:\ngot  %+v\nwant %+v", essenceOf(tr), essenceOf(ref))
			}
		}
	})
}
