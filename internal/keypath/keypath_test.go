package keypath

import "testing"

func TestProblemsRender(t *testing.T) {
	ps := Problems{{Path: "auth.session.secret", Message: "required"}, {Message: "no key"}}
	if got := ps.Error(); got != "auth.session.secret: required\nno key" {
		t.Errorf("Error() = %q", got)
	}
}
