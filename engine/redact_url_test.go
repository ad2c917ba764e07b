package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/engine"
)

// TestURLCredentialsNeverShown: an engine URL with credentials
// (http://user:pass@host) works, the password going out as basic auth, but
// BaseURL (what workers log, label, register and serve) and every error
// carry no password. Before, the URL was kept and shown whole.
func TestURLCredentialsNeverShown(t *testing.T) {
	const pass = "planted-pass-61c0"
	var gotUser, gotPass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"list","data":[{"id":"m","object":"model"}]}`))
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://alice:"+pass+"@", 1)
	c, err := engine.Dial(context.Background(), withCreds, "")
	if err != nil {
		t.Fatal(err)
	}
	if gotUser != "alice" || gotPass != pass {
		t.Errorf("engine saw basic auth %q/%q, want alice and the password", gotUser, gotPass)
	}
	if strings.Contains(c.BaseURL(), pass) || strings.Contains(c.BaseURL(), "alice") {
		t.Errorf("BaseURL %s shows the credentials", c.BaseURL())
	}
	srv.Close()
	for _, u := range []string{withCreds, "ftp://bob:" + pass + "@host", "http://bob:" + pass + "@[::1"} {
		_, err := engine.Dial(context.Background(), u, "")
		if err == nil || strings.Contains(err.Error(), pass) {
			t.Errorf("Dial %s error %v: want an error without the password", engine.RedactURL(u), err)
		}
	}
	if got := engine.RedactURL("http://bob:" + pass + "@h:1/x"); strings.Contains(got, pass) {
		t.Errorf("RedactURL: %s", got)
	}
}
