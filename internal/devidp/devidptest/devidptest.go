// Package devidptest holds what provider tests share when they sign in at
// the dev IdP (internal/devidp): a transport that tampers with the IdP's
// answers under a good signature, and the browser part of a sign-in.
package devidptest

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

// Tamper is an http.RoundTripper that sits between a provider and the dev
// IdP. It can add authorization_response_iss_parameter_supported to the
// discovery document, and change the claims of the ID token in token
// responses, re-signed with the key SigningKey returns (the IdP's own), so
// the provider sees tokens the IdP would never issue but whose signature
// is good. It is safe for concurrent use.
type Tamper struct {
	// SigningKey returns the key ID and key that re-sign tampered ID
	// tokens: devidp.IdP's SigningKey or ConsoleSigningKey.
	SigningKey func() (kid string, key *rsa.PrivateKey)

	mu          sync.Mutex
	issRequired bool
	mutate      func(claims map[string]any)
}

// Set makes later answers carry the iss-parameter flag in the discovery
// document when issRequired, and ID tokens whose claims mutate changed; a
// nil mutate passes ID tokens through untouched.
func (tr *Tamper) Set(issRequired bool, mutate func(claims map[string]any)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.issRequired, tr.mutate = issRequired, mutate
}

// RoundTrip implements http.RoundTripper with http.DefaultTransport,
// changing only successful JSON answers.
func (tr *Tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	tr.mu.Lock()
	issRequired, mutate := tr.issRequired, tr.mutate
	tr.mu.Unlock()
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") && issRequired:
			doc["authorization_response_iss_parameter_supported"] = true
			body, _ = json.Marshal(doc)
		case doc["id_token"] != nil && mutate != nil:
			raw, _ := doc["id_token"].(string)
			kid, key := tr.SigningKey()
			if doc["id_token"], err = devidp.Resign(raw, kid, key, mutate); err != nil {
				return nil, err
			}
			body, _ = json.Marshal(doc)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// SignIn plays the browser at the dev IdP: it follows authURL (a provider's
// authorization URL) to the login form, posts username and password to
// loginURL, and returns the parameters of the redirect to callbackURL,
// which it does not follow. It fails t when the IdP shows no login form or
// does not redirect with a code.
func SignIn(t testing.TB, authURL, loginURL, callbackURL, username, password string) url.Values {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), callbackURL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("no login form at %s (HTTP %d)", resp.Request.URL, resp.StatusCode)
	}
	resp, err = browser.PostForm(loginURL, url.Values{"authRequestID": {id}, "username": {username}, "password": {password}, "action": {"login"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("login answered HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}
