package devidptest

// ClaimCase is one change to a good ID token's claims and what every
// provider must answer: the claim checks of providers/idtoken.go, which
// each provider runs whatever else it verifies.
type ClaimCase struct {
	Name string
	// Mutate changes the claims of the token the IdP issued.
	Mutate func(claims map[string]any)
	// Want is "" when the token is accepted, else a part of the
	// AuthenticationError's message.
	Want string
}

// IDTokenClaimCases are the shared claim checks (iat, azp with one and
// several audiences) for a token issued to client.
func IDTokenClaimCases(client string) []ClaimCase {
	return []ClaimCase{
		{Name: "good token", Mutate: func(c map[string]any) {}},
		{Name: "no iat", Mutate: func(c map[string]any) { delete(c, "iat") }, Want: "ID token has no iat claim"},
		{Name: "iat not a number", Mutate: func(c map[string]any) { c["iat"] = "yesterday" }, Want: "ID token"},
		{Name: "several audiences, azp another client", Mutate: func(c map[string]any) {
			c["aud"], c["azp"] = []string{client, "other-client"}, "other-client"
		}, Want: `ID token azp "other-client" is not this client`},
		{Name: "several audiences, azp this client", Mutate: func(c map[string]any) {
			c["aud"], c["azp"] = []string{client, "other-client"}, client
		}},
		{Name: "several audiences, no azp", Mutate: func(c map[string]any) {
			c["aud"] = []string{client, "other-client"}
			delete(c, "azp")
		}, Want: "ID token has several audiences but no azp claim"},
		{Name: "one audience, azp another client", Mutate: func(c map[string]any) { c["azp"] = "other-client" },
			Want: `ID token azp "other-client" is not this client`},
		{Name: "one audience, no azp", Mutate: func(c map[string]any) { delete(c, "azp") }},
	}
}
