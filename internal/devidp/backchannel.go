package devidp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// backchannelLogoutEvent is the events member of a back-channel logout
// token (OpenID Connect Back-Channel Logout 1.0, 2.4).
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// BackchannelLogout tells the client clientID that username signed out: it
// signs a logout token (iss, aud clientID, iat now, jti, sub username,
// events; typ logout+jwt; no sid, as the dev IdP's ID tokens carry none)
// with the VCF SSO instance's key and POSTs it, form-encoded as
// logout_token, to the client's BackchannelLogoutURI. It returns an error
// when the client registered no URI or the client did not answer 200; the
// error quotes the client's JSON error answer, never the token.
func (p *IdP) BackchannelLogout(ctx context.Context, clientID, username string) error {
	uri := p.backchannel[clientID]
	if uri == "" {
		return fmt.Errorf("dev IdP: client %q has no back-channel logout URI", clientID)
	}
	tok, err := p.logoutToken(clientID, username, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return fmt.Errorf("dev IdP: back-channel logout to %s: %w", clientID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("dev IdP: back-channel logout to %s: %w", clientID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("dev IdP: back-channel logout to %s: HTTP %d %s", clientID, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// logoutToken signs a logout token for username at clientID.
func (p *IdP) logoutToken(clientID, username string, now time.Time) (string, error) {
	st := p.vcf.store
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: st.key},
		(&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", st.kid))
	if err != nil {
		return "", fmt.Errorf("dev IdP: logout token signer: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims := map[string]any{
		"iss": p.issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": hex.EncodeToString(jti), "sub": username,
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dev IdP: signing a logout token: %w", err)
	}
	return jws.CompactSerialize()
}

// sendBackchannelLogouts is the end-session hook: username signed out at
// the IdP, so every client with a back-channel logout URI hears of it, in
// client id order. Failures are logged; the end-session answer does not
// wait for a client that does not answer beyond BackchannelLogout's
// timeout, and does not fail because of one.
func (p *IdP) sendBackchannelLogouts(ctx context.Context, username string) {
	if username == "" {
		return
	}
	ids := make([]string, 0, len(p.backchannel))
	for id := range p.backchannel {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := p.BackchannelLogout(context.WithoutCancel(ctx), id, username); err != nil {
			p.log.Warn("back-channel logout failed", "client", id, "error", err)
			continue
		}
		p.log.Info("back-channel logout sent", "client", id, "user", username)
	}
}

// backchannelURIs checks and collects the clients' back-channel logout
// URIs: client id → absolute http(s) URL.
func backchannelURIs(clients []Client) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range clients {
		if c.BackchannelLogoutURI == "" {
			continue
		}
		u, err := url.Parse(c.BackchannelLogoutURI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("dev IdP: client %s: back-channel logout URI %q is not an absolute http(s) URL", c.ID, c.BackchannelLogoutURI)
		}
		out[c.ID] = c.BackchannelLogoutURI
	}
	return out, nil
}
