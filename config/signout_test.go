package config

import (
	"reflect"
	"testing"
)

// TestSignOut: signOut is a common provider key, decoded into
// ProviderEnv.SignOut, with problems at the key paths.
func TestSignOut(t *testing.T) {
	cfg := mustLoad(t, nil, baseYAML+`        signOut:
          endSession: false
          postLogoutRedirectUrl: https://app.example/bye
`)
	so := cfg.Auth.Providers["vcfsso"]["development"].SignOut
	if so.EndSession == nil || *so.EndSession || so.PostLogoutRedirectURL != "https://app.example/bye" {
		t.Errorf("signOut = %+v", so)
	}
	if so := mustLoad(t, nil, baseYAML).Auth.Providers["vcfsso"]["development"].SignOut; so.EndSession != nil || so.PostLogoutRedirectURL != "" {
		t.Errorf("unset signOut = %+v", so)
	}
	_, err := loadContents(t, nil, baseYAML+`        signOut:
          endSession: sometimes
          postLogoutRedirectUrl: /relative
          endSesion: true
`)
	want := []string{
		`auth.providers.vcfsso.development.signOut.endSesion: unknown key (did you mean "endSession"?)`,
		`auth.providers.vcfsso.development.signOut.endSession: expected a boolean, got "sometimes"`,
		`auth.providers.vcfsso.development.signOut.postLogoutRedirectUrl: must be an absolute http(s) URL`,
	}
	if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %q", got)
	}
	_, err = loadContents(t, nil, baseYAML+"        signOut: [no]\n")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []string{`auth.providers.vcfsso.development.signOut: expected a map, got a list`}) {
		t.Errorf("problems = %q", got)
	}
}
