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
<head><meta charset="utf-8"><title>Sign in - dev IdP ({{.Product}})</title>
<style>body{font-family:sans-serif;max-width:24em;margin:4em auto}label,input,button{display:block;margin:.4em 0}.error{color:#b00}</style>
</head>
<body>
<h1>Sign in</h1>
<p>Dev IdP playing {{.Product}}. Not for production.</p>
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
	Product, Action, ID, Username, Error string
}

// login serves the instance's login form (<issuer>/login for VCF SSO): GET shows the form (or passes straight on
// when the request was already satisfied by an SSO session), POST checks
// the credentials or denies the request.
func (in *instance) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get("authRequestID")
		req, ok := in.store.authRequestByID(id)
		if !ok {
			http.Error(w, "unknown or expired authorization request; start the sign-in again", http.StatusBadRequest)
			return
		}
		if req.done {
			http.Redirect(w, r, op.AuthCallbackURL(in.provider)(r.Context(), id), http.StatusFound)
			return
		}
		in.renderLogin(w, http.StatusOK, loginData{ID: id, Username: req.loginHint})
	case http.MethodPost:
		in.loginPost(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (in *instance) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("authRequestID")
	req, ok := in.store.authRequestByID(id)
	if !ok {
		http.Error(w, "unknown or expired authorization request; start the sign-in again", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("action") == "deny" {
		in.log.Info("dev IdP: sign-in denied", "product", in.product, "client_id", req.clientID)
		// op builds the error redirect (state, response mode) to the
		// registered redirect URI stored with the request.
		_ = in.store.DeleteAuthRequest(r.Context(), id)
		op.AuthRequestError(w, r, req, oidc.ErrAccessDenied().WithDescription("The user denied the sign-in."), in.provider)
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	user, ok := in.store.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		in.log.Info("dev IdP: bad credentials", "username", username)
		in.renderLogin(w, http.StatusOK, loginData{ID: id, Username: username, Error: "Invalid username or password"})
		return
	}
	sid, err := in.store.completeLogin(id, user.Username)
	if err != nil {
		http.Error(w, "unknown or expired authorization request; start the sign-in again", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     in.cookieName,
		Value:    sid,
		Path:     in.cookiePath,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(ssoSessionLifetime.Seconds()),
	})
	in.log.Info("dev IdP: signed in", "product", in.product, "username", user.Username, "client_id", req.clientID)
	http.Redirect(w, r, op.AuthCallbackURL(in.provider)(r.Context(), id), http.StatusFound)
}

func (in *instance) renderLogin(w http.ResponseWriter, status int, d loginData) {
	d.Product = in.product
	d.Action = in.loginURL
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := loginPage.Execute(w, d); err != nil {
		in.log.Error("dev IdP: render login", "error", err)
	}
}

// loggedOut is where end_session lands without a post_logout_redirect_uri.
func (p *IdP) loggedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!DOCTYPE html><title>Signed out</title><p>You are signed out of the dev IdP.</p>\n"))
}
