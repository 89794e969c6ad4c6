package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// that makes it a back-channel logout token (OpenID Connect Back-Channel
// Logout 1.0, 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenSkew is how far in the future a logout token's iat may be:
// clocks of the IdP and Gatehouse differ a little.
const LogoutTokenSkew = 2 * time.Minute

// LogoutClaims are the claims of a verified logout token that say whose
// sessions ended. At least one of Subject and SessionID is set.
type LogoutClaims struct {
	Issuer    string
	Subject   string
	SessionID string
	IssuedAt  time.Time
	JTI       string
}

// BackchannelLogoutVerifier is implemented by providers whose IdP can send
// OpenID Connect back-channel logout tokens. VerifyLogoutToken checks the
// token's signature with the IdP's keys and its claims as
// CheckLogoutTokenClaims does; any error means the token must be refused,
// and its message says why without quoting the token.
type BackchannelLogoutVerifier interface {
	VerifyLogoutToken(ctx context.Context, raw string) (*LogoutClaims, error)
}

// CheckLogoutTokenClaims applies Back-Channel Logout 1.0 section 2.6, steps
// 3 to 10 less the signature, to the verified payload of a logout token:
// iss equals issuer; aud is or contains clientID; iat is a number, not
// later than now plus LogoutTokenSkew; exp, when present, is not past; jti
// is a non-empty string; events is an object holding
// BackchannelLogoutEvent with an object value; there is no nonce; and sub
// and/or sid is a non-empty string. Errors name the claim, and quote none of
// the token's values.
func CheckLogoutTokenClaims(payload []byte, issuer, clientID string, now time.Time) (*LogoutClaims, error) {
	var c struct {
		Iss    *string                    `json:"iss"`
		Aud    json.RawMessage            `json:"aud"`
		Iat    *float64                   `json:"iat"`
		Exp    *float64                   `json:"exp"`
		JTI    *string                    `json:"jti"`
		Sub    *string                    `json:"sub"`
		SID    *string                    `json:"sid"`
		Events map[string]json.RawMessage `json:"events"`
		Nonce  json.RawMessage            `json:"nonce"`
	}
	d := json.NewDecoder(bytes.NewReader(payload))
	if err := d.Decode(&c); err != nil {
		return nil, errors.New("the logout token's claims are not a JSON object of the expected types")
	}
	if c.Iss == nil || *c.Iss != issuer {
		return nil, errors.New("the logout token's iss is not the provider's issuer")
	}
	if !audienceHas(c.Aud, clientID) {
		return nil, errors.New("the logout token's aud does not name this client")
	}
	if c.Iat == nil || math.IsNaN(*c.Iat) || math.IsInf(*c.Iat, 0) {
		return nil, errors.New("the logout token has no numeric iat")
	}
	iat := unixFloat(*c.Iat)
	if iat.After(now.Add(LogoutTokenSkew)) {
		return nil, errors.New("the logout token's iat is in the future")
	}
	if c.Exp != nil && unixFloat(*c.Exp).Before(now.Add(-LogoutTokenSkew)) {
		return nil, errors.New("the logout token has expired")
	}
	if c.JTI == nil || *c.JTI == "" {
		return nil, errors.New("the logout token has no jti")
	}
	ev, ok := c.Events[BackchannelLogoutEvent]
	if !ok {
		return nil, fmt.Errorf("the logout token's events claim lacks %s", BackchannelLogoutEvent)
	}
	var evObj map[string]json.RawMessage
	if err := json.Unmarshal(ev, &evObj); err != nil || evObj == nil {
		return nil, errors.New("the logout token's back-channel logout event is not a JSON object")
	}
	if len(c.Nonce) > 0 {
		return nil, errors.New("the logout token carries a nonce, which logout tokens must not")
	}
	out := &LogoutClaims{Issuer: *c.Iss, IssuedAt: iat, JTI: *c.JTI}
	if c.Sub != nil {
		out.Subject = *c.Sub
	}
	if c.SID != nil {
		out.SessionID = *c.SID
	}
	if out.Subject == "" && out.SessionID == "" {
		return nil, errors.New("the logout token names neither a sub nor a sid")
	}
	return out, nil
}

// audienceHas reports whether aud, a string or an array of strings, names
// clientID.
func audienceHas(aud json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == clientID
	}
	var many []string
	if json.Unmarshal(aud, &many) == nil {
		for _, a := range many {
			if a == clientID {
				return true
			}
		}
	}
	return false
}

// unixFloat converts a NumericDate, clamping values time.Time cannot hold.
func unixFloat(f float64) time.Time {
	const limit = 1 << 40 // far beyond any real date, well inside int64 seconds
	f = math.Max(-limit, math.Min(limit, f))
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
