package authplug

import (
	"encoding/json"
	"strings"
	"testing"
)

// The SDK's dispatch runs natively, so module handlers are testable with
// plain go test; these tests cover the JSON contract of ../ABI.md.
func TestDispatch(t *testing.T) {
	resolveFn, transformFn, checkFn = nil, nil, nil
	defer func() { resolveFn, transformFn, checkFn = nil, nil, nil }()
	HandleResolve(func(in Input) (Result, error) {
		name, _ := in.Claim("user_name")
		switch name {
		case "":
			return Result{}, NotFound("no user_name")
		case "evil":
			return Result{}, NotAllowed("not %s", name)
		}
		u, err := FindUser(Query{EntityRef: "user:default/" + name})
		if err != nil {
			return Result{}, err
		}
		return Result{EntityRef: u.EntityRef, OwnershipEntityRefs: u.OwnershipEntityRefs}, nil
	})
	Native.FindUser = func(q Query) (*User, error) {
		if q.EntityRef != "user:default/jane" {
			return nil, NotFound("User not found")
		}
		return &User{EntityRef: q.EntityRef, OwnershipEntityRefs: []string{q.EntityRef, "group:default/a"}}, nil
	}
	defer func() { Native.FindUser = nil }()
	for _, c := range []struct {
		claims string
		status uint32
		out    string
	}{
		{`{"user_name":"jane"}`, StatusOK, `{"entityRef":"user:default/jane","ownershipEntityRefs":["user:default/jane","group:default/a"]}`},
		{`{}`, StatusNotFound, `{"name":"NotFoundError","message":"no user_name"}`},
		{`{"user_name":"evil"}`, StatusError, `{"name":"NotAllowedError","message":"not evil"}`},
		{`{"user_name":"zed"}`, StatusNotFound, `{"name":"NotFoundError","message":"User not found"}`},
	} {
		status, out := Call("resolve", []byte(`{"abi":1,"kind":"signInResolver","userinfo":`+c.claims+`}`))
		if status != c.status || string(out) != c.out {
			t.Errorf("%s: got %d %s, want %d %s", c.claims, status, out, c.status, c.out)
		}
	}
	if status, out := Call("transform", []byte(`{"module":"m"}`)); status != StatusError || !strings.Contains(string(out), "registers no profile transform") {
		t.Errorf("unregistered transform: %d %s", status, out)
	}
	if status, _ := Call("check", []byte(`{"kind":"signInResolver"}`)); status != StatusOK {
		t.Errorf("check without options: %d", status)
	}
	if status, out := Call("check", []byte(`{"kind":"signInResolver","options":{"x":1}}`)); status != StatusError || !strings.Contains(string(out), "does not accept options") {
		t.Errorf("check with options: %d %s", status, out)
	}
	if status, _ := Call("resolve", []byte(`not json`)); status != StatusError {
		t.Errorf("bad input: %d", status)
	}
	HandleTransform(func(in Input) (Profile, error) { return Profile{Email: strings.ToLower(in.Profile.Email)}, nil })
	status, out := Call("transform", []byte(`{"profile":{"email":"A@B.C"}}`))
	var got struct{ Profile Profile }
	if err := json.Unmarshal(out, &got); status != StatusOK || err != nil || got.Profile.Email != "a@b.c" {
		t.Errorf("transform: %d %s", status, out)
	}
}
