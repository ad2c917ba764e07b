#!/usr/bin/env python3
"""Writes the derived part of curate/testdata/corpus.jsonl.

Run once by hand (python3 scripts/grading_corpus.py [DATASETS_DIR] > out;
DATASETS_DIR defaults to the repository's datasets/); the
result is committed, so tests never read the datasets. For every reference
answer of MATH500, AIME 2024/2025, AMC 2023 and a slice of GSM8K it writes
answers in the forms models write them (a whole response ending in a box, a
"The final answer is" line, a re-spelling) that must be graded equal, and
near-misses (off by one, sign, swapped order, open/closed ends, exponent,
inverted fraction) that must not. The hand-written cases (Olympiad- and
Numina-style equations, relations, units, adversarial spellings) live in
curate/testdata/corpus_hand.jsonl.
"""
import json
import os
import re
import sys

DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets")
out = []


def add(source, answer, reference, equal, why):
    out.append({"source": source, "answer": answer, "reference": reference, "equal": equal, "why": why})


PROSE = [
    ("Let me work through this step by step.\n\nAfter simplifying, we get the result.\n\nTherefore, the final answer is $\\boxed{%s}$.", "qwen-style boxed response"),
    ("Final Answer: The final answer is $%s$. I hope it is correct.", "minerva-style final answer line"),
    ("**Answer:** $%s$", "markdown answer line"),
    ("Putting everything together, the answer is $\\boxed{%s}$", "answer-is sentence with box"),
    ("So we conclude\n\\[\n%s\n\\]", "final display math"),
]


def respell(ref):
    """A different but equal spelling, or None."""
    if "\\frac" in ref and "\\dfrac" not in ref:
        return ref.replace("\\frac", "\\dfrac"), "dfrac for frac"
    if "\\dfrac" in ref:
        return ref.replace("\\dfrac", "\\frac"), "frac for dfrac"
    if re.fullmatch(r"-?\d+", ref):
        return ref + ".0", "trailing .0"
    if ref.startswith("(") and ref.endswith(")") and "," in ref:
        return "\\left" + ref[:1] + ref[1:-1] + "\\right" + ref[-1:], "left/right brackets"
    if " " in ref:
        return ref.replace(" ", ""), "spacing"
    if "\\sqrt" in ref and "\\sqrt{" in ref:
        return ref.replace("\\sqrt{", "\\sqrt {"), "space after sqrt"
    return None


def near_miss(ref):
    """An answer that must not equal ref, or None."""
    m = re.fullmatch(r"(-?)(\d+)", ref)
    if m:
        n = int(ref)
        return str(n + 1), "off by one"
    m = re.fullmatch(r"\\[dt]?frac\{(\d+)\}\{(\d+)\}", ref)
    if m and m.group(1) != m.group(2):
        return "\\frac{%s}{%s}" % (m.group(2), m.group(1)), "inverted fraction"
    m = re.fullmatch(r"-\\[dt]?frac\{(\d+)\}\{(\d+)\}", ref)
    if m:
        return ref[1:], "sign error"
    if ref.startswith("(") and ref.endswith(")") and ref.count(",") == 1 and ref.count("(") == 1:
        a, b = [x.strip() for x in ref[1:-1].split(",")]
        if a != b:
            return "(%s, %s)" % (b, a), "swapped order"
    if ref.startswith("[") and ref.endswith("]") and ref.count(",") == 1:
        return "(" + ref[1:-1] + ")", "open ends for closed"
    if ref.startswith("(") and ref.endswith("]"):
        return "[" + ref[1:], "closed left end for open"
    m = re.search(r"\^(\d)", ref)
    if m and m.group(1) not in "01" and "\\mbox" not in ref and "\\text" not in ref:
        return ref[:m.start(1)] + str(int(m.group(1)) + 1) + ref[m.end(1):], "exponent off by one"
    m = re.search(r"\\sqrt\{(\d+)\}", ref)
    if m:
        return ref[:m.start(1)] + str(int(m.group(1)) + 1) + ref[m.end(1):], "radicand off by one"
    m = re.fullmatch(r"(\d+)\.(\d+)", ref)
    if m:
        return m.group(1) + "." + m.group(2)[:-1] + str((int(m.group(2)[-1]) + 1) % 10), "last decimal digit"
    m = re.search(r"(?<![\^_{\d])(\d+)", ref)
    if m and "matrix" not in ref and "\\text" not in ref:
        return ref[:m.start(1)] + str(int(m.group(1)) + 1) + ref[m.end(1):], "a number off by one"
    return None


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


for i, p in enumerate(load(DIR + "/math500/test.jsonl")):
    ref = p["answer"]
    tmpl, why = PROSE[i % len(PROSE)]
    add("math500", tmpl % ref, ref, True, why)
    r = respell(ref)
    if r:
        add("math500", r[0], ref, True, r[1])
    n = near_miss(ref)
    if n and n[0] != ref:
        add("math500", n[0], ref, False, n[1])

for name in ("aime24", "aime25", "amc23"):
    for i, p in enumerate(load(DIR + "/%s/test.jsonl" % name)):
        ref = p["answer"]
        if isinstance(ref, float) and ref == int(ref):
            ref = int(ref)
        ref = str(ref)
        tmpl, why = PROSE[i % len(PROSE)]
        add(name, tmpl % ref, ref, True, why)
        n = near_miss(ref)
        if n:
            add(name, n[0], ref, False, n[1])
        if i % 3 == 0 and re.fullmatch(r"\d+", ref):
            add(name, "0" + ref if len(ref) < 3 else ref + "0", ref, len(ref) < 3, "leading zero (AIME pads to three digits)" if len(ref) < 3 else "trailing zero")

for i, p in enumerate(load(DIR + "/gsm8k/test.jsonl")[:120]):
    ref = p["answer"].split("####")[-1].strip().replace(",", "")
    if i % 4 == 0:
        add("gsm8k", "She makes 9 * 2 = <<9*2=18>>18 ... so in total\n#### " + ref, ref, True, "gsm8k #### line")
    elif i % 4 == 1:
        n = int(ref) if re.fullmatch(r"-?\d+", ref) else None
        if n is not None and n >= 1000:
            add("gsm8k", "The answer is $%s." % "{:,}".format(n), ref, True, "dollar sign and thousands separator")
        else:
            add("gsm8k", "The answer is %s dollars." % ref, ref, True, "unit word after the number")
    elif i % 4 == 2:
        n = near_miss(ref)
        if n:
            add("gsm8k", "#### " + n[0], ref, False, n[1])
    else:
        add("gsm8k", "So, she earns \\boxed{\\$%s} every day." % ref, ref, True, "dollar sign inside the box")

for o in out:
    print(json.dumps(o, ensure_ascii=False))
