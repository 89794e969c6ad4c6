package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// refreshCookie is the session cookie vcfsso's /refresh reads.
const refreshCookie = "vcfsso-refresh-token"

var (
	formActionRE = regexp.MustCompile(`<form method="POST" action="([^"]+)"`)
	authReqRE    = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

// signIn signs user in once, as a browser's popup does: /start, the dev
// IdP's login form, the callback and its popup page. It returns the Cookie
// header a browser then sends to /refresh (every cookie of that path: the
// refresh token, the session, the ID token, the granted scope, each of
// which /refresh reads) and the Backstage token of a first /refresh.
func signIn(base, user, password string) (cookies, token string, err error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	q := url.Values{"scope": {"openid profile email"}, "origin": {base}, "flow": {"popup"}, "env": {"development"}}
	resp, body, err := fetch(c, "GET", base+"/api/auth/vcfsso/start?"+q.Encode(), nil, nil)
	if err != nil {
		return "", "", fmt.Errorf("sign-in start: %w", err)
	}
	action, id := formActionRE.FindSubmatch(body), authReqRE.FindSubmatch(body)
	if resp.StatusCode != 200 || action == nil || id == nil {
		return "", "", fmt.Errorf("sign-in start did not reach the dev IdP's login form: %s %.300s", resp.Status, body)
	}
	target, err := resp.Request.URL.Parse(html.UnescapeString(string(action[1])))
	if err != nil {
		return "", "", fmt.Errorf("login form action: %w", err)
	}
	form := url.Values{"authRequestID": {html.UnescapeString(string(id[1]))}, "username": {user}, "password": {password}, "action": {"login"}}
	resp, body, err = fetch(c, "POST", target.String(), strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if err != nil {
		return "", "", fmt.Errorf("login form: %w", err)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), "authorization_response") {
		return "", "", fmt.Errorf("the callback did not answer with the popup page: %s %.300s", resp.Status, body)
	}
	refreshURL, _ := url.Parse(base + "/api/auth/vcfsso/refresh")
	found := false
	for _, ck := range jar.Cookies(refreshURL) {
		found = found || ck.Name == refreshCookie
	}
	if !found {
		return "", "", fmt.Errorf("signed in as %s, but no %s cookie was set (the popup page: %.300s)", user, refreshCookie, body)
	}
	resp, body, err = fetch(c, "GET", refreshURL.String()+"?env=development", nil, map[string]string{"X-Requested-With": "XMLHttpRequest"})
	if err != nil {
		return "", "", fmt.Errorf("first refresh: %w", err)
	}
	var r struct {
		BackstageIdentity struct {
			Token string `json:"token"`
		} `json:"backstageIdentity"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || r.BackstageIdentity.Token == "" {
		return "", "", fmt.Errorf("first refresh: %s %.300s", resp.Status, body)
	}
	var header []string
	for _, ck := range jar.Cookies(refreshURL) {
		header = append(header, ck.Name+"="+ck.Value)
	}
	return strings.Join(header, "; "), r.BackstageIdentity.Token, nil
}

// fetch sends one request and reads the whole answer.
func fetch(c *http.Client, method, u string, body io.Reader, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("%s %s: reading the answer", method, u), err)
	}
	return resp, b, nil
}
