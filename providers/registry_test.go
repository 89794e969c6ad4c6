package providers

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestCallbackURL(t *testing.T) {
	for _, base := range []string{"https://b.example/api/auth", "https://b.example/api/auth/"} {
		if got := CallbackURL(base, "vcfsso"); got != "https://b.example/api/auth/vcfsso/handler/frame" {
			t.Errorf("CallbackURL(%q) = %q", base, got)
		}
	}
}

func TestRegistryIDsSorted(t *testing.T) {
	r := Registry{"vmwareCloudServices": {}, "oidc": {}, "vcfsso": {}}
	if got := r.IDs(); !slices.Equal(got, []string{"oidc", "vcfsso", "vmwareCloudServices"}) {
		t.Errorf("IDs() = %v", got)
	}
}

// TestEnvDefaults: what is set stays; what is not gets the one default.
func TestOpenOptionsDefaults(t *testing.T) {
	var e OpenOptions
	e.Defaults(0)
	if e.Now == nil || e.Logger == nil || e.HTTPClient == nil || e.HTTPClient.Timeout != DefaultTimeout {
		t.Fatalf("defaults: %+v", e)
	}
	own := &http.Client{}
	e = OpenOptions{HTTPClient: own}
	e.Defaults(3 * time.Second)
	if e.HTTPClient != own {
		t.Error("a given client was replaced")
	}
	e = OpenOptions{}
	e.Defaults(3 * time.Second)
	if e.HTTPClient.Timeout != 3*time.Second {
		t.Errorf("timeout %v", e.HTTPClient.Timeout)
	}
}
