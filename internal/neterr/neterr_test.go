package neterr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestWithoutURL: a real failed request loses its URL (and the query in
// it) but keeps its cause; an error without a *url.Error is untouched.
func TestWithoutURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more: the request is refused
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/users?email=secret%40example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = http.DefaultClient.Do(req)
	if err == nil {
		t.Fatal("request to a closed port succeeded")
	}
	wrapped := fmt.Errorf("catalog: %w", err)
	got := WithoutURL(wrapped)
	if strings.Contains(got.Error(), "secret") || strings.Contains(got.Error(), "/users") {
		t.Fatalf("URL kept: %v", got)
	}
	var opErr *net.OpError
	if !errors.As(got, &opErr) {
		t.Fatalf("cause lost: %T %v", got, got)
	}

	plain := errors.New("no url here")
	if WithoutURL(plain) != plain {
		t.Fatal("an error without a *url.Error was changed")
	}
}
