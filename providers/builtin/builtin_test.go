package builtin

import (
	"slices"
	"testing"
)

// TestRegistry: the three providers Gatehouse serves, each complete.
func TestRegistry(t *testing.T) {
	if got := Registry.IDs(); !slices.Equal(got, []string{"oidc", "vcfsso", "vmwareCloudServices"}) {
		t.Errorf("ids %v", got)
	}
	for id, k := range Registry {
		if k.Decode == nil || k.DefaultTransform == "" || len(k.Keys) == 0 || len(k.Required) == 0 {
			t.Errorf("%s: incomplete Kind %+v", id, k)
		}
	}
}
