package docs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hintfleet/hintfleet"

// pkgInfo is what `go list -json` says of one package.
type pkgInfo struct {
	ImportPath string
	Imports    []string
}

// modulePackages lists the module's packages and the module packages each
// imports (tests excluded), by path relative to the module root.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-json=ImportPath,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		var own []string
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				own = append(own, rel)
			}
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = own
	}
	return pkgs
}

// row is one line of architecture.md's package table.
type row struct {
	line    int
	names   []string // patterns, path.Match syntax
	imports []string // nil when the cell is not a list of packages
	listed  bool     // the imports cell lists packages ("—" is an empty list)
}

var code = regexp.MustCompile("`([^`]+)`")

// packageTable reads the table under "## Packages".
func packageTable(t *testing.T) []row {
	t.Helper()
	f, err := os.Open("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []row
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "## "):
			in = l == "## Packages"
		case in && strings.HasPrefix(l, "| `"):
			cells := strings.Split(l, " | ")
			if len(cells) < 3 {
				t.Fatalf("architecture.md:%d: a package row needs owns and imports cells", n)
			}
			r := row{line: n}
			for _, m := range code.FindAllStringSubmatch(cells[0], -1) {
				r.names = append(r.names, m[1])
			}
			imp := strings.TrimSpace(cells[2])
			switch {
			case imp == "—":
				r.listed = true
			case strings.HasPrefix(imp, "`"):
				r.listed = true
				for _, m := range code.FindAllStringSubmatch(imp, -1) {
					r.imports = append(r.imports, m[1])
				}
			}
			rows = append(rows, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("architecture.md: no package table under ## Packages")
	}
	return rows
}

// TestPackageTable: every package of the module is named by a row of the
// table, every row names a package that exists, and a row about one package
// that lists its imports lists exactly the module packages it imports.
func TestPackageTable(t *testing.T) {
	pkgs := modulePackages(t)
	rows := packageTable(t)
	covered := map[string]bool{}
	for _, r := range rows {
		for _, pat := range r.names {
			matched := false
			for p := range pkgs {
				if ok, _ := path.Match(pat, p); ok {
					covered[p], matched = true, true
				}
			}
			if !matched {
				if _, err := os.Stat("../" + pat); err != nil {
					t.Errorf("architecture.md:%d: %s is neither a package nor a folder of the module", r.line, pat)
				}
			}
		}
		if !r.listed || len(r.names) != 1 {
			continue
		}
		got, ok := pkgs[r.names[0]]
		if !ok {
			continue
		}
		want := slices.Sorted(slices.Values(r.imports))
		got = slices.Sorted(slices.Values(got))
		if !slices.Equal(got, want) {
			t.Errorf("architecture.md:%d: %s imports %v, the table says %v: update the row (and the design, if an import now runs the wrong way)", r.line, r.names[0], got, want)
		}
	}
	for p := range pkgs {
		if !covered[p] {
			t.Errorf("architecture.md's package table does not name %s: add a row saying what it owns and imports", p)
		}
	}
}
