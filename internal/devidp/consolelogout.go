package devidp

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// consoleLogoutAPI plays CSP's logout API at consoleLogoutPath: a POST of
// {"idToken": ...} (JSON) with orgId, post_logout_redirect_uri and state in
// the query answers {"url": ...}, the URL the browser must visit to log
// out. Here that URL is op's own end-session endpoint at the same path
// (reached by a GET), carrying the ID token as id_token_hint, so visiting
// it ends the console's SSO session. Anything else goes to op.
func (p *IdP) consoleLogoutAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method != http.MethodPost || mt != "application/json" {
			next.ServeHTTP(w, r)
			return
		}
		var body struct {
			IDToken string `json:"idToken"`
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxTokenForm))
		if err != nil || json.Unmarshal(raw, &body) != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid request body", "statusCode": http.StatusBadRequest})
			return
		}
		in := r.URL.Query()
		if in.Get("orgId") != "" && in.Get("orgId") != p.consoleOrgID {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown organization", "statusCode": http.StatusNotFound})
			return
		}
		q := url.Values{}
		if body.IDToken != "" {
			q.Set("id_token_hint", body.IDToken)
		}
		for _, k := range []string{"post_logout_redirect_uri", "state"} {
			if v := in.Get(k); v != "" {
				q.Set(k, v)
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"url": p.consoleURL + consoleLogoutPath + "?" + q.Encode()})
	})
}
