package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// IssueAccessToken signs the Backstage user token that the OAuth
// authorization server hands to MCP clients and the CLI (spec
// backstage-oidc-provider.md §4.1): claims iss, sub, aud, iat, exp, uip in
// that order, never ent or custom claims, and no user info recorded
// (/v1/userinfo keeps answering what the last interactive sign-in stored).
// audience nil or empty gives aud "backstage" as Backstage does; otherwise
// aud is the list, which must contain "backstage" so that every Backstage
// backend still accepts the token (RFC 8707: ["backstage", <resource>]).
func (i *Issuer) IssueAccessToken(ctx context.Context, sub string, audience []string) (*IssuedToken, error) {
	if !validEntityRef(sub) {
		return nil, autherr.Input("%q is not a valid entity ref", sub)
	}
	var aud any = Audience
	if len(audience) > 0 {
		if !containsString(audience, Audience) {
			return nil, fmt.Errorf("identity: an access token's audience must include %q", Audience)
		}
		aud = audience
	}
	key, err := i.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	iat := i.opts.Now().Unix()
	exp := iat + int64(i.exp/time.Second)
	uip, err := limitedUserProof(key, sub, iat, exp)
	if err != nil {
		return nil, err
	}
	var p jsonBuf
	p.WriteString(`{"iss":`)
	p.string(i.opts.Issuer)
	p.WriteString(`,"sub":`)
	p.string(sub)
	if err := p.tail(aud, iat, exp, uip); err != nil {
		return nil, err
	}
	token, err := signUserToken(key, p.Bytes(), nil)
	if err != nil {
		return nil, err
	}
	return &IssuedToken{
		Token:     token,
		Identity:  Identity{Type: "user", UserEntityRef: sub, OwnershipEntityRefs: []string{sub}},
		ExpiresAt: time.Unix(exp, 0),
	}, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
