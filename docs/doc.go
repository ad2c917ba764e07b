// Package docs holds no code: its tests keep the documents in this folder
// true to the code they describe. architecture_test.go checks that
// architecture.md's package table names every package of the module and,
// for each package row, exactly the hintfleet packages it imports;
// hints_test.go parses every example hint library in hints.md.
package docs
