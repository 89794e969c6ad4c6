package cimd

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The captured truth table of spec §3.2, plus the defaults.
func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, url string
		want         bool
	}{
		{"https://claude.ai/*", "https://CLAUDE.AI/Foo", true},
		{"https://claude.ai/*", "https://claude.ai:8443/x", false},
		{"https://claude.ai/*", "https://evil.claude.ai/x", false},
		{"https://claude.ai/*", "http://claude.ai/x", false},
		{"https://claude.ai/*", "https://claude.ai.evil.com/x", false},
		{"https://*.example.com/*", "https://a.b.example.com/x", true},
		{"https://*.example.com/*", "https://example.com/x", false},
		{"https://chatgpt.com/oauth/codex/*/client.json", "https://chatgpt.com/oauth/codex/a/b/client.json", true},
		{"https://chatgpt.com/oauth/codex/*/client.json", "https://chatgpt.com/OAUTH/codex/a/CLIENT.JSON", true},
		{"https://chatgpt.com/oauth/codex/*/client.json", "https://chatgpt.com/oauth/codex/a/client.json.evil", false},
		{"https://chatgpt.com/oauth/codex/*/client.json", "https://chatgpt.com/oauth/other/a/client.json", false},
		{"http://localhost:*", "http://localhost:8080/", true},
		{"http://localhost:*", "http://localhost:8080/cb", false},
		{"http://localhost:*/*", "http://localhost/cb", true},
		{"http://localhost:*/*", "http://localhost:80/cb", true},
		{"http://localhost/*", "http://localhost:8080/cb", false},
		{"http://localhost/*", "http://localhost:80/cb", true},
		{"http://127.0.0.1:*/*", "http://127.0.0.1.nip.io/cb", false},
		{"http://127.0.0.1:*/*", "http://127.0.0.1:9999/callback?x=1", true},
		{"http://[::1]:*/*", "http://[::1]:4444/cb", true},
		{"http://[::1]/*", "http://[::1]:4444/cb", false},
		{"https://x.com:443/*", "https://x.com/a", true},
		{"cursor://*", "cursor://anysphere.cursor-retrieval/oauth/x/callback", true},
		{"cursor://*", "cursor:foo", true},
		{"cursor://*", "vscode://x/cb", false},
		{"myapp://callback", "myapp://callback/x", true},
		{"myapp://callback", "myapp://other/x", false},
		{"*", "javascript:alert(1)", true},
		{"https://x.com/a?b=*", "https://x.com/a?anything", true},
		{"https://x.com/a*b*c", "https://x.com/a-b-c", true},
		{"https://x.com/a*b*c", "https://x.com/a-c-b", false},
		{"https://x.com/a*b", "https://x.com/ab", true},
	} {
		p, err := CompilePattern(tc.pattern)
		if err != nil {
			t.Fatalf("CompilePattern(%q): %v", tc.pattern, err)
		}
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatalf("parse %q: %v", tc.url, err)
		}
		if got := p.Match(u); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.url, got, tc.want)
		}
	}
}

func TestCompilePatternErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, err string }{
		{"claude.ai/*", "an explicit protocol is required"},
		{"", "an explicit protocol is required"},
		{"https://[::1/x", `invalid URL pattern "https://[::1/x"`},
		{"https://x.com:99999999999/x", "invalid URL pattern"},
		// An empty host must not read as "any host".
		{"https://", "the host is empty"},
		{"https:///cb", "the host is empty"},
		{"http://:*/x", "the host is empty"},
		{"https://a b.example/*", "invalid URL pattern"},
		{"https://a.example\\@b.example/*", "invalid URL pattern"},
	} {
		_, err := CompilePattern(tc.pattern)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CompilePattern(%q) = %v, want %q", tc.pattern, err, tc.err)
		}
	}
	if _, err := CompileAllowlist([]string{"https://ok/*", "bad"}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("CompileAllowlist with a bad pattern: %v", err)
	}
	var zero Pattern
	if zero.Match(&url.URL{Scheme: "https", Host: "x"}) {
		t.Error("the zero Pattern matched")
	}
	p, _ := CompilePattern("https://x.com/a")
	if p.String() != "https://x.com/a" || !p.Exact() {
		t.Errorf("String/Exact: %q %v", p.String(), p.Exact())
	}
	if w, _ := CompilePattern("https://*.x.com/a"); w.Exact() {
		t.Error("a wildcard pattern is exact")
	}
}

func TestDefaultsAndClientIDAllowlist(t *testing.T) {
	cli := "https://backstage.example.com/api/auth/.well-known/oauth-client/cli.json"
	got := ClientIDAllowlist(nil, cli)
	want := append(DefaultClientIDPatterns(), cli)
	if !slices.Equal(got, want) {
		t.Errorf("default allowlist = %v, want %v", got, want)
	}
	got = ClientIDAllowlist([]string{"https://a/*", "https://b/*", "https://a/*", cli}, cli)
	if !slices.Equal(got, []string{"https://a/*", "https://b/*", cli}) {
		t.Errorf("configured allowlist = %v", got)
	}
	if got := ClientIDAllowlist([]string{}, ""); len(got) != 0 {
		t.Errorf("empty configured, no CLI: %v", got)
	}
	d := DefaultClientIDPatterns()
	d[0] = "changed"
	if DefaultClientIDPatterns()[0] == "changed" {
		t.Error("defaults are shared")
	}
	if len(DefaultRedirectURIPatterns()) != 6 || len(DefaultDCRRedirectURIPatterns()) != 8 {
		t.Error("default redirect patterns changed")
	}
	a, err := CompileAllowlist(ClientIDAllowlist(nil, cli))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{
		cli: true,
		"https://claude.ai/oauth/mcp-oauth-client-metadata": true,
		"https://vscode.dev/oauth/client-metadata.json":     true,
		"https://evil.example/client.json":                  false,
		"%zz":                                               false,
	} {
		if a.Allows(id) != want {
			t.Errorf("Allows(%q) = %v", id, !want)
		}
	}
	if p, ok := a.MatchString(cli); !ok || !p.Exact() {
		t.Errorf("the CLI id matched %v (exact %v)", ok, p.Exact())
	}
	var nilList *Allowlist
	if nilList.Allows(cli) {
		t.Error("nil allowlist allowed")
	}
}

func TestCheckRedirectURI(t *testing.T) {
	a, err := CompileAllowlist(DefaultDCRRedirectURIPatterns())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ uri, err string }{
		{"http://127.0.0.1:8055/callback", ""},
		{"http://localhost/cb?x=1", ""},
		{"http://[::1]:33418/", ""},
		{"cursor://anysphere.cursor-retrieval/oauth/callback", ""},
		{"https://www.cursor.com/oauth/cb", ""},
		{"https://evil.example/cb", "is not allowed"},
		{"http://127.0.0.1.nip.io/cb", "is not allowed"},
		{"http://u:p@127.0.0.1/cb", "credentials"},
		{"http://127.0.0.1/cb#frag", "fragment"},
		{"http://127.0.0.1/cb#", "fragment"},
		{"http://127.0.0.1/a/../cb", "dot segments"},
		{"%zz", "not a valid URL"},
		{"http://localhost:70000/cb", "not a valid URL"},
		{"relative/cb", "not a valid URL"},
	} {
		err := a.CheckRedirectURI(tc.uri)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.uri, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: got %v, want %q", tc.uri, err, tc.err)
		}
	}
	if err := a.CheckRedirectURI("https://evil.example/cb?secret=s3cr3t"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error echoes the query: %v", err)
	}
}

// RFC 8252 §7.3: any port on loopback, everything else exact (spec §3.5,
// §6.11: unlike Backstage, the query must match too).
func TestMatchRedirectURI(t *testing.T) {
	registered := []string{
		"http://127.0.0.1:8055/callback",
		"http://localhost/cb",
		"http://[::1]/cb",
		"http://127.0.0.1/q?mode=a",
		"https://app.example.com/cb",
		"cursor://x/cb",
	}
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"http://127.0.0.1:8055/callback", true},
		{"http://127.0.0.1:9999/callback", true},
		{"http://127.0.0.1/callback", true},
		{"http://127.0.0.1:9999/callback?evil=1", false},
		{"http://127.0.0.1:9999/callback#x", false},
		{"http://localhost:8055/callback", false},
		{"http://localhost:1234/cb", true},
		{"http://LOCALHOST:1234/cb", true},
		{"http://localhost:1234/CB", false},
		{"https://localhost:1234/cb", false},
		{"http://[::1]:4444/cb", true},
		{"http://[0:0:0:0:0:0:0:1]:4444/cb", true},
		{"http://127.0.0.1:5/q?mode=a", true},
		{"http://127.0.0.1:5/q?mode=b", false},
		{"http://127.0.0.1:5/q", false},
		{"http://u@127.0.0.1:5/callback", false},
		{"https://app.example.com/cb", true},
		{"https://app.example.com:443/cb", false},
		{"https://app.example.com/cb?x", false},
		{"cursor://x/cb", true},
		{"%zz", false},
	} {
		c := &Client{RedirectURIs: registered}
		if got := c.AllowsRedirectURI(tc.uri); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.uri, got, tc.want)
		}
	}
}
