package providertest_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
)

func TestProviderAnswersAndRecords(t *testing.T) {
	ctx := context.Background()
	p := providertest.New()
	var txn providers.Transaction
	loc, err := p.AuthorizationURL(ctx, providers.StartRequest{State: "s1", Scope: "openid", Transaction: &txn})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("state") != "s1" || u.Query().Get("scope") != "openid" || txn != p.Transaction {
		t.Fatalf("start: %s, txn %+v", loc, txn)
	}
	res, err := p.Authenticate(ctx, providers.CallbackRequest{Transaction: txn})
	if err != nil || res.Session.RefreshToken != "refresh-1" {
		t.Fatalf("authenticate: %+v, %v", res, err)
	}
	if _, err := p.Authenticate(ctx, providers.CallbackRequest{Transaction: providers.Transaction{Nonce: "other"}}); !providertest.IsTransactionMismatch(err) {
		t.Fatalf("mismatched transaction: %v", err)
	}
	p.RefreshResult = &providers.Result{Session: providers.Session{RefreshToken: "refresh-2"}}
	if res, err := p.Refresh(ctx, providers.RefreshRequest{RefreshToken: "refresh-1"}); err != nil || res.Session.RefreshToken != "refresh-2" {
		t.Fatalf("refresh: %+v, %v", res, err)
	}
	p.LogoutURL, p.LogoutErr = "https://idp.example/logout", errors.New("revocation failed")
	if u, err := p.Logout(ctx, providers.LogoutRequest{RefreshToken: "refresh-2"}); u != p.LogoutURL || err != p.LogoutErr {
		t.Fatalf("logout: %q, %v", u, err)
	}
	c := p.Calls()
	if len(c.Start) != 1 || c.Start[0].State != "s1" || c.Start[0].Transaction != nil ||
		len(c.Authenticate) != 2 || len(c.Refresh) != 1 || c.Refresh[0].RefreshToken != "refresh-1" ||
		len(c.Logout) != 1 || c.Logout[0].RefreshToken != "refresh-2" {
		t.Fatalf("calls: %+v", c)
	}
}

func TestProviderErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	p := &providertest.Provider{StartErr: boom, AuthErr: boom, RefreshErr: boom}
	if _, err := p.AuthorizationURL(ctx, providers.StartRequest{}); err != boom {
		t.Fatalf("start: %v", err)
	}
	if _, err := p.Authenticate(ctx, providers.CallbackRequest{}); err != boom {
		t.Fatalf("authenticate: %v", err)
	}
	if _, err := p.Refresh(ctx, providers.RefreshRequest{}); err != boom {
		t.Fatalf("refresh: %v", err)
	}
}

func TestBasicHidesCapabilities(t *testing.T) {
	var p providers.Provider = providertest.Basic{P: providertest.New()}
	if _, ok := p.(providers.Refresher); ok {
		t.Fatal("Basic is a Refresher")
	}
	if _, ok := p.(providers.LogoutHandler); ok {
		t.Fatal("Basic is a LogoutHandler")
	}
	if _, err := p.AuthorizationURL(context.Background(), providers.StartRequest{Transaction: &providers.Transaction{}}); err != nil {
		t.Fatal(err)
	}
}
