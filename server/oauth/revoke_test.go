package oauth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

func TestRevokeMatrix(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	alive := func(rt string) bool {
		id, _, _ := splitRefreshToken(rt)
		_, err := h.store.GetRefreshSession(context.Background(), id)
		return err == nil
	}
	wantEmpty200 := func(t *testing.T, r response) {
		t.Helper()
		if r.Status != 200 || r.Body != "" || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%d %q %v", r.Status, r.Body, r.Header)
		}
	}
	t.Run("CLI logout without client_id", func(t *testing.T) {
		rt := h.tokens(grant{ClientID: cliID}, nil)["refresh_token"].(string)
		wantEmpty200(t, h.postJSON(revokePath, map[string]any{"token": rt, "token_type_hint": "refresh_token"}))
		if alive(rt) {
			t.Error("not revoked")
		}
		wantOAuthError(t, h.refresh(rt), 400, "invalid_grant", "Invalid refresh token")
	})
	t.Run("wrong secret part", func(t *testing.T) {
		rt := h.tokens(grant{}, nil)["refresh_token"].(string)
		id, _, _ := splitRefreshToken(rt)
		wantEmpty200(t, h.form(revokePath, url.Values{"token": {id + ".WRONG"}, "client_id": {testCIMDClient}}))
		if !alive(rt) {
			t.Error("revoked by the id alone")
		}
	})
	t.Run("rotated-out token", func(t *testing.T) {
		rt := h.tokens(grant{}, nil)["refresh_token"].(string)
		next := h.refresh(rt).JSON(t)["refresh_token"].(string)
		wantEmpty200(t, h.postJSON(revokePath, map[string]any{"token": rt}))
		if !alive(next) {
			t.Error("a rotated-out token revoked the session")
		}
	})
	t.Run("unknown, malformed, access token", func(t *testing.T) {
		at := h.tokens(grant{}, nil)["access_token"].(string)
		for _, tok := range []string{"nope", "a.b", at} {
			wantEmpty200(t, h.postJSON(revokePath, map[string]any{"token": tok}))
		}
	})
	t.Run("other public client", func(t *testing.T) {
		rt := h.tokens(grant{}, nil)["refresh_token"].(string)
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{"token": rt, "client_id": cliID}), 400, "unauthorized_client", "The token was not issued to this client")
		if !alive(rt) {
			t.Error("revoked by another client")
		}
	})
	t.Run("DCR", func(t *testing.T) {
		id, secret := h.registerClient(nil)
		rt := h.tokens(grant{ClientID: id}, nil, "Authorization", basic(id, secret))["refresh_token"].(string)
		r := h.postJSON(revokePath, map[string]any{"token": rt})
		wantOAuthError(t, r, 401, "invalid_client", "Client authentication required")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{"token": rt, "client_id": id}), 401, "invalid_client", "Client authentication required")
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{"token": rt}, "Authorization", basic(id, "wrong")), 401, "invalid_client", "Invalid client credentials")
		id2, secret2 := h.registerClient(nil)
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{"token": rt, "client_id": id2, "client_secret": secret2}), 400, "unauthorized_client", "The token was not issued to this client")
		if !alive(rt) {
			t.Fatal("revoked by the wrong caller")
		}
		wantEmpty200(t, h.form(revokePath, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}, "Authorization", basic(id, secret)))
		if alive(rt) {
			t.Error("not revoked")
		}
	})
	t.Run("validation", func(t *testing.T) {
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{}), 400, "invalid_request", `Validation error: Invalid input: expected string, received undefined at "token"`)
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{"token": "x", "client_id": "https://evil.example.org/c.json"}), 401, "invalid_client", "Invalid client credentials")
		wantOAuthError(t, h.postJSON(revokePath, map[string]any{"token": "x", "client_id": testCIMDClient, "client_secret": "s"}), 401, "invalid_client", "Invalid client credentials")
	})
}

// TestSecretsNeverLogged runs every route's success and failure paths at
// debug level and looks for each secret in the log.
func TestSecretsNeverLogged(t *testing.T) {
	var logs testlog.Buffer
	h := newHarness(t, testConfig(), withLog(&logs))
	id, secret := h.registerClient(nil)
	code := h.approvedCode(grant{ClientID: id})
	first := h.exchange(code, nil, "Authorization", basic(id, secret)).JSON(t)
	h.exchange(code, nil, "Authorization", basic(id, secret))
	h.exchange(h.approvedCode(grant{ClientID: id}), nil, "Authorization", basic(id, secret+"x"))
	rt := h.tokens(grant{ClientID: id}, nil, "Authorization", basic(id, secret))["refresh_token"].(string)
	next := h.refresh(rt, "Authorization", basic(id, secret)).JSON(t)["refresh_token"].(string)
	h.clock.Advance(time.Minute)
	h.refresh(rt, "Authorization", basic(id, secret))
	h.postJSON(revokePath, map[string]any{"token": next, "client_id": id, "client_secret": secret})
	log := logs.String()
	for name, s := range map[string]string{"client secret": secret, "code": code, "access token": first["access_token"].(string),
		"refresh token": rt, "its secret part": strings.SplitN(rt, ".", 2)[1], "rotated token": next} {
		if strings.Contains(log, s) {
			t.Errorf("the %s reached the log", name)
		}
	}
	if !strings.Contains(log, "refresh token reuse detected") || !strings.Contains(log, "authorization code replayed") {
		t.Errorf("the log lacks the warnings:\n%s", log)
	}
}
