package devidp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestConsoleLogoutAPI: a JSON POST to the console's logout path answers
// {"url"} naming the end-session endpoint with the ID token as
// id_token_hint and the redirect and state passed on; another org or a bad
// body is refused; a browser GET still reaches op's end-session endpoint.
func TestConsoleLogoutAPI(t *testing.T) {
	idp := startConsole(t)
	q := url.Values{"orgId": {testOrg}, "post_logout_redirect_uri": {"http://localhost:3000"}, "state": {"s1"}}
	post := func(q url.Values, body string) (*http.Response, map[string]string) {
		t.Helper()
		resp, err := http.Post(idp.ConsoleURL()+consoleLogoutPath+"?"+q.Encode(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp, v
	}
	resp, v := post(q, `{"idToken":"id.tok.en"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	u, err := url.Parse(v["url"])
	if err != nil || u.Scheme+"://"+u.Host+u.Path != idp.ConsoleURL()+consoleLogoutPath {
		t.Fatalf("url %q", v["url"])
	}
	want := url.Values{"id_token_hint": {"id.tok.en"}, "post_logout_redirect_uri": {"http://localhost:3000"}, "state": {"s1"}}
	if u.Query().Encode() != want.Encode() {
		t.Fatalf("url query %v", u.Query())
	}
	other := url.Values{"orgId": {"other-org"}}
	if resp, _ := post(other, `{}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other org: %d", resp.StatusCode)
	}
	if resp, _ := post(q, `not json`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %d", resp.StatusCode)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = c.Get(idp.ConsoleURL() + consoleLogoutPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, idp.ConsoleURL()+consoleLoggedOutPath) {
		t.Errorf("GET end-session: %d to %q", resp.StatusCode, loc)
	}
}
