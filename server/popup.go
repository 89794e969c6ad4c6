package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// The popup page of spec §3.1, byte for byte as auth-node's
// sendWebMessageResponse writes it. The CSP header carries the sha256 of
// exactly the script text served, so the two can never drift apart.
const (
	popupPrefix = "<html><body><script>"
	popupScript = `
    var authResponse = decodeURIComponent('%RESPONSE%');
    var origin = decodeURIComponent('%ORIGIN%');
    var originInfo = {'type': 'config_info', 'targetOrigin': origin};
    (window.opener || window.parent).postMessage(originInfo, '*');
    (window.opener || window.parent).postMessage(JSON.parse(authResponse), origin);
    setTimeout(() => {
      window.close();
    }, 100); // same as the interval of the core-app-api lib/loginPopup.ts (to address race conditions)
  `
	popupSuffix = "</script></body></html>"
)

// webMessage is what the popup posts to the app: a response or an error.
type webMessage struct {
	Type     string           `json:"type"`
	Response any              `json:"response,omitempty"`
	Error    *serializedError `json:"error,omitempty"`
}

// popupPage renders the page and returns it with its CSP header value.
func popupPage(msg webMessage, appOrigin string) (body []byte, csp string) {
	js, _ := marshalNoEscape(msg)
	script := strings.Replace(popupScript, "%RESPONSE%", scriptEncode(string(js)), 1)
	script = strings.Replace(script, "%ORIGIN%", scriptEncode(appOrigin), 1)
	sum := sha256.Sum256([]byte(script))
	csp = "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	return []byte(popupPrefix + script + popupSuffix), csp
}

func writePopup(w http.ResponseWriter, msg webMessage, appOrigin string) {
	body, csp := popupPage(msg, appOrigin)
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("X-Frame-Options", "sameorigin")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// scriptEncode is encodeURIComponent(x).replace(/'/g, '%27'): the result is
// safe inside a single-quoted JS string in an HTML script element.
func scriptEncode(s string) string {
	return strings.ReplaceAll(encodeURIComponent(s), "'", "%27")
}

func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
