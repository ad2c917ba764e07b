// Package report renders hintfleet's HTML report: accuracy per dataset for
// plain, hinted and RFT runs, accuracy against tokens for sequential scaling
// (--defer-stop 0..N), tool calls per trajectory and the curation funnel. The
// charts are inline SVG, so the file is readable without a server or script.
package report
