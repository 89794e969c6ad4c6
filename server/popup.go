package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"strings"
)

// The page that ends a popup sign-in, byte for byte as auth-node's
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

// writePopup serves the popup page posting msg to appOrigin. appOrigin ""
// means no allowed origin is known: the page then posts nothing and shows
// msg's error instead.
func writePopup(w http.ResponseWriter, msg webMessage, appOrigin string) {
	var body []byte
	var csp string
	if appOrigin == "" {
		body, csp = errorPage(msg.Error)
	} else {
		body, csp = popupPage(msg, appOrigin)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("X-Frame-Options", "sameorigin")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// errorPage is the popup page for a callback whose app origin is not
// allowed (or not known): it shows the error as text and has no script, so
// nothing is posted to anyone; its policy forbids scripts altogether.
func errorPage(e *serializedError) (body []byte, csp string) {
	text := "Sign-in failed."
	if e != nil {
		text = "Sign-in failed. " + e.Name + ": " + e.Message
	}
	return []byte("<html><body><p>" + html.EscapeString(text) + "</p></body></html>"), "default-src 'none'; script-src 'none'"
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
