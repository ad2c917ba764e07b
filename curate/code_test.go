package curate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins/python"
)

// TestCodeGraderPrograms runs programs that end, loop, exit, fork or read
// their input in unusual ways through the fork-server grader, in one
// sandbox, to show each is graded on its own and none disturbs the next.
func TestCodeGraderPrograms(t *testing.T) {
	g := &CodeGrader{Sandbox: sandbox(t, python.WithPreload()), Timeout: 2 * time.Second, Workers: 1}
	t.Cleanup(func() { g.Close(context.Background()) })
	echo := []IOCase{{Input: "3\n", Output: "6"}, {Input: "5\n", Output: "10\n"}}
	for _, tc := range []struct {
		name, program string
		cases         []IOCase
		want          []string
	}{
		{"input()", "print(int(input()) * 2)", echo, []string{TestPass, TestPass}},
		{"open(0)", "print(int(open(0).read()) * 2)", echo, []string{TestPass, TestPass}},
		{"sys.stdin.buffer", "import sys\nprint(int(sys.stdin.buffer.read()) * 2)", echo, []string{TestPass, TestPass}},
		{"os.write", "import os\nos.write(1, str(int(input()) * 2).encode())", echo, []string{TestPass, TestPass}},
		{"main guard", "def main():\n    print(int(input()) * 2)\nif __name__ == '__main__':\n    main()", echo, []string{TestPass, TestPass}},
		{"sys.exit(0)", "import sys\nprint(int(input()) * 2)\nsys.exit(0)", echo, []string{TestPass, TestPass}},
		{"sys.exit(1)", "import sys\nprint(int(input()) * 2)\nsys.exit(1)", echo, []string{TestError, TestSkipped}},
		{"wrong answer", "print(int(input()) * 3)", echo, []string{TestFail, TestSkipped}},
		{"second wrong", "n = int(input())\nprint(6 if n == 3 else 0)", echo, []string{TestPass, TestFail}},
		{"syntax error", "print(", echo, []string{TestError, TestSkipped}},
		{"loop", "while True: pass", echo, []string{TestTimeout, TestSkipped}},
		{"sleep in second", "import time\nn = int(input())\nif n == 5: time.sleep(60)\nprint(n * 2)", echo, []string{TestPass, TestTimeout}},
		{"os._exit", "import os\nos._exit(0)", echo, []string{TestError, TestSkipped}},
		{"kill parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", echo, nil},
		{"daemon", "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\nprint(int(input()) * 2)", echo, []string{TestPass, TestPass}},
		{"big output", "print('x' * 10_000_000)", echo, []string{TestFail, TestSkipped}},
		{"memory hog", "x = bytearray(4 << 30)\nprint(len(x))", echo, []string{TestError, TestSkipped}},
		{"fork bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", echo, []string{TestTimeout, TestSkipped}},
		{"imports numpy", "import numpy as np\nprint(int(np.int64(input()) * 2))", echo, []string{TestPass, TestPass}},
		{"after all that", "print(int(input()) * 2)", echo, []string{TestPass, TestPass}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := g.StdIO(context.Background(), tc.program, tc.cases)
			if tc.want == nil {
				// The program killed the fork server: an error, and the next
				// program gets a new sandbox.
				if err == nil {
					t.Fatalf("verdict %+v, want an error", v)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tr := range v.Tests {
				got = append(got, tr.Outcome)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("outcomes %v (%+v), want %v", got, v.Tests, tc.want)
			}
			if v.Pass != (tc.want[len(tc.want)-1] == TestPass) {
				t.Errorf("pass = %v with outcomes %v", v.Pass, got)
			}
		})
	}
}

func TestHumanEvalOutcomes(t *testing.T) {
	g := &CodeGrader{Sandbox: sandbox(t, python.WithPreload()), Timeout: 2 * time.Second, Workers: 1}
	t.Cleanup(func() { g.Close(context.Background()) })
	check := "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n"
	for _, tc := range []struct{ name, program, want string }{
		{"right", "def sq(x):\n    return x * x", TestPass},
		{"wrong", "def sq(x):\n    return x + x", TestFail},
		{"raises", "def sq(x):\n    raise ValueError('no')", TestError},
		{"missing entry", "def other(x):\n    return x * x", TestError},
		{"loops", "def sq(x):\n    while True: pass", TestTimeout},
		{"exits", "import sys\ndef sq(x):\n    sys.exit(0)", TestError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := g.HumanEval(context.Background(), tc.program, check, "sq")
			if err != nil {
				t.Fatal(err)
			}
			if v.Tests[0].Outcome != tc.want || v.Pass != (tc.want == TestPass) {
				t.Errorf("got %+v, want %s", v, tc.want)
			}
		})
	}
}
