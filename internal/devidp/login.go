package devidp

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// loginPage is the login form. html/template escapes every value, so a
// username with markup cannot inject HTML; the password is never rendered.
var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - dev IdP (VCF SSO)</title>
<style>body{font-family:sans-serif;max-width:24em;margin:4em auto}label,input,button{display:block;margin:.4em 0}.error{color:#b00}</style>
</head>
<body>
<h1>Sign in</h1>
<p>Dev IdP playing VMware VCF SSO. Not for production.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="POST" action="{{.Action}}">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>
</body>
</html>
`))

type loginData struct {
	Action, ID, Username, Error string
}

// login serves <issuer>/login: GET shows the form (or passes straight on
// when the request was already satisfied by an SSO session), POST checks
// the credentials or denies the request.
func (p *IdP) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get("authRequestID")
		req, ok := p.store.authRequestByID(id)
		if !ok {
			http.Error(w, "unknown or expired authorization request; start the sign-in again", http.StatusBadRequest)
			return
		}
		if req.done {
			http.Redirect(w, r, op.AuthCallbackURL(p.provider)(r.Context(), id), http.StatusFound)
			return
		}
		p.renderLogin(w, http.StatusOK, loginData{ID: id, Username: req.loginHint})
	case http.MethodPost:
		p.loginPost(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (p *IdP) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("authRequestID")
	req, ok := p.store.authRequestByID(id)
	if !ok {
		http.Error(w, "unknown or expired authorization request; start the sign-in again", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("action") == "deny" {
		p.log.Info("dev IdP: sign-in denied", "client_id", req.clientID)
		// op builds the error redirect (state, response mode) to the
		// registered redirect URI stored with the request.
		_ = p.store.DeleteAuthRequest(r.Context(), id)
		op.AuthRequestError(w, r, req, oidc.ErrAccessDenied().WithDescription("The user denied the sign-in."), p.provider)
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	user, ok := p.store.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		p.log.Info("dev IdP: bad credentials", "username", username)
		p.renderLogin(w, http.StatusOK, loginData{ID: id, Username: username, Error: "Invalid username or password"})
		return
	}
	sid, err := p.store.completeLogin(id, user.Username)
	if err != nil {
		http.Error(w, "unknown or expired authorization request; start the sign-in again", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    sid,
		Path:     p.cookiePath(),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(ssoSessionLifetime.Seconds()),
	})
	p.log.Info("dev IdP: signed in", "username", user.Username, "client_id", req.clientID)
	http.Redirect(w, r, op.AuthCallbackURL(p.provider)(r.Context(), id), http.StatusFound)
}

// cookiePath scopes the SSO cookie to the issuer, where the authorization
// and end-session endpoints live.
func (p *IdP) cookiePath() string {
	if p.issuerPath == "" {
		return "/"
	}
	return p.issuerPath
}

func (p *IdP) renderLogin(w http.ResponseWriter, status int, d loginData) {
	d.Action = p.issuer + loginPath
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := loginPage.Execute(w, d); err != nil {
		p.log.Error("dev IdP: render login", "error", err)
	}
}

// loggedOut is where end_session lands without a post_logout_redirect_uri.
func (p *IdP) loggedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!DOCTYPE html><title>Signed out</title><p>You are signed out of the dev IdP.</p>\n"))
}
