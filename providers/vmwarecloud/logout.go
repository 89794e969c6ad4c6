package vmwarecloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/neterr"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// logoutPath is CSP's documented logout API ("Get Identity Provider Logout
// URL", Cloud Services Platform IAM API): a POST with the ID token that
// answers {"url": ...}, the logout URL the browser must be sent to.
const logoutPath = "/csp/gateway/am/api/auth/logout"

var _ providers.LogoutHandler = (*Provider)(nil)

// Logout asks CSP's logout API for the IdP logout URL when req.EndSession
// is set and the session's ID token is known (CSP finds the user's IdP from
// it), passing orgId, post_logout_redirect_uri and state as CSP documents.
// It returns that URL, or "" with nothing to ask. CSP has no documented
// refresh-token revocation, so nothing is revoked, as in Backstage.
func (p *Provider) Logout(ctx context.Context, req providers.LogoutRequest) (string, error) {
	if !req.EndSession || req.IDTokenHint == "" {
		return "", nil
	}
	q := url.Values{"orgId": {p.cfg.OrganizationID}}
	if req.PostLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", req.PostLogoutRedirectURI)
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	body, err := json.Marshal(map[string]string{"idToken": req.IDTokenHint})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.ConsoleEndpoint+logoutPath+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(hreq)
	if err != nil {
		return "", neterr.WithoutURL(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", neterr.WithoutURL(err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("CSP logout API answered HTTP %d", resp.StatusCode)
	}
	var v struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(raw, &v) != nil || v.URL == "" {
		return "", errors.New("CSP logout API answer has no url")
	}
	if u, err := url.Parse(v.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("CSP logout API answered a url that is not an absolute http(s) URL")
	}
	return v.URL, nil
}
