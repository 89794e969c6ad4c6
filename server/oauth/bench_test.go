package oauth

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// BenchmarkRefreshGrant is one refresh_token grant on the memory stores,
// without HTTP: parse, session read, catalog check, sealed grace answer,
// rotation (which stores it), access token signature. Target: < 0.5 ms of CPU.
func BenchmarkRefreshGrant(b *testing.B) {
	s := bareServer(b)
	rt := s.issueRefreshToken(context.Background(), identity.RefreshSession{UserEntityRef: testUser, ClientID: testCIMDClient, Scope: "openid offline_access"})
	if rt == "" {
		b.Fatal("no refresh token")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec, err := callDirect(s.token, "application/json", `{"grant_type":"refresh_token","refresh_token":"`+rt+`"}`, "")
		if err != nil || rec.Code != 200 {
			b.Fatalf("%v %d %s", err, rec.Code, rec.Body)
		}
		var ans tokenAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			b.Fatal(err)
		}
		rt = ans.RefreshToken
	}
}
