package oauth

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
)

func TestGetSession(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dcr   bool
		scope []string // nil: as in the query
		want  string   // %ID% is the session id
	}{
		{"7.a", false, nil, `{"id":"%ID%","clientId":"` + testCIMDClient + `","clientName":"Test CIMD Client","scope":"openid offline_access","redirectUri":"http://127.0.0.1:9999/callback"}`},
		{"7.b", true, nil, `{"id":"%ID%","clientId":"` + testDCRClient + `","clientName":"Demo","scope":"openid offline_access","redirectUri":"http://127.0.0.1:5000/cb"}`},
		{"no scope", false, []string{}, `{"id":"%ID%","clientId":"` + testCIMDClient + `","clientName":"Test CIMD Client","redirectUri":"http://127.0.0.1:9999/callback"}`},
		{"granted scope shown", false, []string{"profile openid mcp:tools"}, `{"id":"%ID%","clientId":"` + testCIMDClient + `","clientName":"Test CIMD Client","scope":"openid","redirectUri":"http://127.0.0.1:9999/callback"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig(), nil)
			q := cimdQuery()
			if tc.dcr {
				h.registerDCR("http://127.0.0.1:5000/cb")
				q = dcrQuery()
			}
			if tc.scope != nil {
				q = with(q, "scope", tc.scope...)
			}
			id := h.startSession(q)
			r := h.do("GET", "/api/auth/v1/sessions/"+id, "", "")
			if want := strings.ReplaceAll(tc.want, "%ID%", id); r.Status != 200 || r.Body != want {
				t.Errorf("%d %s\nwant %s", r.Status, r.Body, want)
			}
		})
	}
}

func TestSessionErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness, id string) string // returns the id to ask for
		want  string
	}{
		{"unknown", func(*harness, string) string { return "4b1a3f0e-0000-4000-8000-000000000000" }, "Invalid authorization session"},
		{"expired", func(h *harness, id string) string { h.clock.Advance(AuthSessionLifetime); return id }, "Authorization session expired"},
		{"decided", func(h *harness, id string) string {
			if r := h.decide(id, "reject", bearer(h.userToken(testUser))...); r.Status != 200 {
				t.Fatalf("reject: %d %s", r.Status, r.Body)
			}
			return id
		}, "Authorization session not found or expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []string{"", "/approve", "/reject"} {
				h := newHarness(t, testConfig(), nil)
				id := tc.setup(h, h.startSession(cimdQuery()))
				var r response
				if route == "" {
					r = h.do("GET", "/api/auth/v1/sessions/"+id, "", "")
				} else {
					r = h.decide(id, strings.TrimPrefix(route, "/"), bearer(h.userToken(testUser))...)
				}
				wantOAuthError(t, r, 400, CodeInvalidRequest, tc.want)
			}
		})
	}
}

// TestGetSessionRefetchesDocument: the client is resolved again, its
// errors OAuth-style (spec §2.6).
func TestGetSessionRefetchesDocument(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	id := h.startSession(cimdQuery())
	h.fetcher.errs[testCIMDClient] = cimd.ErrFetch
	wantOAuthError(t, h.do("GET", "/api/auth/v1/sessions/"+id, "", ""), 400, CodeInvalidRequest, "Failed to fetch client metadata")
}

// TestDecisionCredentials: only a full user token in Authorization:
// Bearer decides (spec §2.7, §2.8; the preamble's strict decisions).
func TestDecisionCredentials(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	limited, err := identity.LimitedUserToken(h.userToken(testUser))
	if err != nil {
		t.Fatal(err)
	}
	forgedUser := forgedToken(t, identity.TypeUser, `{"sub":"user:default/mallory","iat":1,"exp":9999999999}`)
	plugin := forgedToken(t, identity.TypePlugin, `{"sub":"plugin:catalog","aud":"auth"}`)
	const denied, illegal = "Authentication required", "Illegal limited user token"
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
		code    string // OAuth error; "" means the envelope (reject only)
		message string
	}{
		{"no header", nil, 403, CodeAccessDenied, denied},
		{"basic", []string{"Authorization", "Basic dTpw"}, 403, CodeAccessDenied, denied},
		{"cookie only", []string{"Cookie", "backstage-auth=" + h.userToken(testUser)}, 403, CodeAccessDenied, denied},
		{"plugin token", bearer(plugin), 403, CodeAccessDenied, denied},
		{"limited token", bearer(limited), 401, CodeInvalidClient, illegal},
		{"malformed", bearer("abc"), 401, CodeInvalidClient, "Failed to verify user token: malformed token"},
		{"forged user token", bearer(forgedUser), 401, CodeInvalidClient, "Failed to verify user token: unknown signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, decision := range []string{"approve", "reject"} {
				id := h.startSession(cimdQuery())
				r := h.decide(id, decision, tc.headers...)
				switch {
				case decision == "reject" && tc.status == 401:
					// Backstage's reject checks credentials outside its
					// OAuth error conversion: the envelope.
					wantEnvelope(t, r, 401, "AuthenticationError", tc.message)
				case tc.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer "):
					t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
					fallthrough
				default:
					wantOAuthError(t, r, tc.status, tc.code, tc.message)
				}
				if s, _ := h.store.GetAuthSession(context.Background(), id); s.Status != identity.AuthPending {
					t.Errorf("%s decided the session: %s", decision, s.Status)
				}
			}
		})
	}
}

// TestDecisionRedirectURLs: the redirectUrl shapes of spec §7.a and §2.7–2.8
// (captured), each with iss (RFC 9207) added last.
func TestDecisionRedirectURLs(t *testing.T) {
	const code = `[A-Za-z0-9_-]{43}`
	for _, tc := range []struct {
		name     string
		query    url.Values
		dcr      string // a registered redirect URI, for a DCR client
		decision string
		want     string // a regexp; code is the code's
	}{
		{"7.a approve", cimdQuery(), "", "approve", `http://127.0.0.1:9999/callback\?code=` + code + `&state=st1&` + testIssParam},
		{"7.a reject", cimdQuery(), "", "reject", `http://127.0.0.1:9999/callback\?error=access_denied&error_description=User\+denied\+the\+request&state=st1&` + testIssParam},
		{"7.b approve", dcrQuery(), "http://127.0.0.1:5000/cb", "approve", `http://127.0.0.1:5000/cb\?code=` + code + `&state=xyz&` + testIssParam},
		{"query kept, no state", with(dcrQuery(), "state"), "http://localhost:33418/cb?x=1", "approve", `http://localhost:33418/cb\?x=1&code=` + code + `&` + testIssParam},
		{"query replaced, state encoded", with(dcrQuery(), "state", "s t&x~*"), "http://localhost:33418/cb?x=1", "reject", `http://localhost:33418/cb\?error=access_denied&error_description=User\+denied\+the\+request&state=s\+t%26x%7E\*&` + testIssParam},
		{"fragment kept", dcrQuery(), "myapp://cb?a=b#frag", "approve", `myapp://cb\?a=b&code=` + code + `&state=xyz&` + testIssParam + `#frag`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig(), nil)
			q := tc.query
			if tc.dcr != "" {
				h.registerDCR(tc.dcr)
				q = with(q, "redirect_uri", tc.dcr)
			}
			r := h.decide(h.startSession(q), tc.decision, bearer(h.userToken(testUser))...)
			got, _ := r.JSON(t)["redirectUrl"].(string)
			if r.Status != 200 || !regexp.MustCompile(`^`+tc.want+`$`).MatchString(got) {
				t.Errorf("%d %s\nwant %s", r.Status, r.Body, tc.want)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
		})
	}
}

// TestApproveIssuesBoundCode: the code is stored by its hash, bound to the
// session's client, redirect URI and the approving user, for CodeLifetime.
func TestApproveIssuesBoundCode(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	id := h.startSession(cimdQuery())
	r := h.decide(id, "approve", bearer(h.userToken(testUser))...)
	u, err := url.Parse(r.JSON(t)["redirectUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code := u.Query().Get("code")
	got, err := h.store.RedeemCode(context.Background(), identity.HashSecret(code), h.clock.Now())
	want := identity.AuthCode{Hash: identity.HashSecret(code), SessionID: id, ClientID: testCIMDClient,
		RedirectURI: "http://127.0.0.1:9999/callback", UserEntityRef: testUser, Expires: h.clock.Now().Add(CodeLifetime)}
	if err != nil || got.Hash != want.Hash || got.SessionID != want.SessionID || got.ClientID != want.ClientID ||
		got.RedirectURI != want.RedirectURI || got.UserEntityRef != want.UserEntityRef || !got.Expires.Equal(want.Expires) {
		t.Errorf("code %+v, %v\nwant %+v", got, err, want)
	}
}

// TestApproveOnce: a consent session is decided once, also under
// concurrency: exactly one code.
func TestApproveOnce(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	id := h.startSession(cimdQuery())
	tok := h.userToken(testUser)
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Go(func() { results[i] = h.decide(id, []string{"approve", "reject"}[i%2], bearer(tok)...) })
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		if r.Status == 200 {
			ok++
		} else {
			wantOAuthError(t, r, 400, CodeInvalidRequest, "Authorization session not found or expired")
		}
	}
	if ok != 1 {
		t.Errorf("%d decisions succeeded, want 1", ok)
	}
}

// failingCodes is a store whose CreateCode fails with a driver's text.
type failingCodes struct{ *identity.MemoryOAuthStore }

func (failingCodes) CreateCode(context.Context, identity.AuthCode) error {
	return errors.New("pq: connection to 10.0.0.5 refused")
}

// TestApproveHidesStoreErrors: a store failure is a server_error whose
// description carries none of the store's text (spec §6.20).
func TestApproveHidesStoreErrors(t *testing.T) {
	h := newHarness(t, testConfig(), func(o *Options) { o.Store = failingCodes{o.Store.(*identity.MemoryOAuthStore)} })
	r := h.decide(h.startSession(cimdQuery()), "approve", bearer(h.userToken(testUser))...)
	wantOAuthError(t, r, 500, CodeServerError, "An internal error occurred")
}
