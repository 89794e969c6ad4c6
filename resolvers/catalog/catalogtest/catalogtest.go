// Package catalogtest is a conformance suite for catalog.Catalog
// implementations, in the style of Dex's storage conformance tests: every
// implementation (the file catalog, a Backstage catalog API client, ...)
// runs the same cases so that sign-in resolvers behave the same on each.
package catalogtest

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Entities returns the fixture the suite opens catalogs with: Users and
// Groups with spec only (no relations), so an implementation must derive
// memberOf relations from User spec.memberOf and Group spec.members. Each
// call returns fresh values.
//
//   - user:default/alice  email Alice@Example.com, memberOf [team-a, group:ops/sre],
//     annotations github.com/user-login=alice-gh, example.com/emp.id=A-1
//   - user:eng/bob        email bob@example.com (named "Bob")
//   - user:default/carol and user:default/dave share shared@example.com
//   - user:default/erin   no email
//   - group:default/team-a  email team-a@example.com, members [user:eng/bob, erin]
//   - group:ops/sre       members [default/alice]
//   - group:default/team-b  members [alice]
func Entities() []catalog.Entity {
	user := func(ns, name, email string, spec map[string]any, ann map[string]string) catalog.Entity {
		if spec == nil {
			spec = map[string]any{}
		}
		if email != "" {
			spec["profile"] = map[string]any{"email": email, "displayName": name}
		}
		return catalog.Entity{
			APIVersion: "backstage.io/v1alpha1",
			Kind:       "User",
			Metadata:   catalog.Metadata{Name: name, Namespace: ns, Annotations: ann},
			Spec:       spec,
		}
	}
	group := func(ns, name string, spec map[string]any) catalog.Entity {
		if _, ok := spec["children"]; !ok {
			spec["children"] = []any{}
		}
		return catalog.Entity{
			APIVersion: "backstage.io/v1alpha1",
			Kind:       "Group",
			Metadata:   catalog.Metadata{Name: name, Namespace: ns},
			Spec:       spec,
		}
	}
	return []catalog.Entity{
		user("", "alice", "Alice@Example.com",
			map[string]any{"memberOf": []any{"team-a", "group:ops/sre"}},
			map[string]string{"github.com/user-login": "alice-gh", "example.com/emp.id": "A-1"}),
		user("eng", "Bob", "bob@example.com", nil, nil),
		user("default", "carol", "shared@example.com", nil, nil),
		user("default", "dave", "shared@example.com", nil, nil),
		user("default", "erin", "", map[string]any{"memberOf": []any{}}, nil),
		group("default", "team-a", map[string]any{
			"type":    "team",
			"profile": map[string]any{"email": "team-a@example.com"},
			"members": []any{"user:eng/bob", "erin"},
		}),
		group("ops", "sre", map[string]any{"type": "team", "members": []any{"default/alice"}}),
		group("", "team-b", map[string]any{"type": "team", "members": []any{"alice"}}),
	}
}

// Run runs every conformance case against a catalog built by open from
// the given entities (those of Entities). Each case opens its own catalog.
func Run(t *testing.T, open func(t *testing.T, entities []catalog.Entity) catalog.Catalog) {
	t.Helper()
	newCat := func(t *testing.T) catalog.Catalog {
		t.Helper()
		c := open(t, Entities())
		if c == nil {
			t.Fatal("open returned a nil catalog")
		}
		return c
	}
	for _, tc := range findCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := newCat(t)
			e, err := c.FindUser(context.Background(), tc.q)
			if tc.errName != "" {
				if err == nil {
					t.Fatalf("FindUser(%+v) = %s, want %s", tc.q, catalog.RefOf(e), tc.errName)
				}
				if got := autherr.NameOf(err); got != tc.errName {
					t.Fatalf("FindUser(%+v) error %q is a %s, want %s", tc.q, err, got, tc.errName)
				}
				if tc.errMsg != "" && err.Error() != tc.errMsg {
					t.Fatalf("FindUser(%+v) error %q, want %q", tc.q, err, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindUser(%+v): %v", tc.q, err)
			}
			if got := catalog.RefOf(e); got != tc.want {
				t.Fatalf("FindUser(%+v) = %s, want %s", tc.q, got, tc.want)
			}
		})
	}
	t.Run("OwnershipEntityRefs", func(t *testing.T) {
		c := newCat(t)
		want := map[string][]string{
			// Relations come ordered by type, then target ref, as the real
			// catalog's stitcher orders them.
			"user:default/alice": {"user:default/alice", "group:default/team-a", "group:default/team-b", "group:ops/sre"},
			"user:eng/bob":       {"user:eng/bob", "group:default/team-a"},
			"erin":               {"user:default/erin", "group:default/team-a"},
			"carol":              {"user:default/carol"},
		}
		for ref, w := range want {
			e, err := c.FindUser(context.Background(), catalog.Query{EntityRef: ref})
			if err != nil {
				t.Fatalf("FindUser(%s): %v", ref, err)
			}
			if got := catalog.OwnershipEntityRefs(e); !reflect.DeepEqual(got, w) {
				t.Errorf("OwnershipEntityRefs(%s) = %q, want %q", ref, got, w)
			}
		}
	})
	t.Run("GroupHasMemberRelations", func(t *testing.T) {
		c := newCat(t)
		e, err := c.FindUser(context.Background(), catalog.Query{EntityRef: "group:default/team-a"})
		if err != nil {
			t.Fatal(err)
		}
		has := map[string]bool{}
		for _, r := range e.Relations {
			if r.Type == "hasMember" {
				has[r.TargetRef] = true
			}
		}
		for _, m := range []string{"user:eng/bob", "user:default/erin", "user:default/alice"} {
			if !has[m] {
				t.Errorf("group:default/team-a relations %v lack hasMember %s", e.Relations, m)
			}
		}
	})
	t.Run("EntityFields", func(t *testing.T) {
		c := newCat(t)
		e, err := c.FindUser(context.Background(), catalog.Query{EntityRef: "user:eng/bob"})
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != "User" || e.Metadata.Name != "Bob" || e.Metadata.Namespace != "eng" {
			t.Errorf("got kind %q name %q namespace %q, want User Bob eng", e.Kind, e.Metadata.Name, e.Metadata.Namespace)
		}
		profile, _ := e.Spec["profile"].(map[string]any)
		if profile["email"] != "bob@example.com" {
			t.Errorf("spec.profile.email = %v, want bob@example.com", profile["email"])
		}
	})
	t.Run("ResultIsACopy", func(t *testing.T) {
		c := newCat(t)
		q := catalog.Query{EntityRef: "alice"}
		e, err := c.FindUser(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		e.Metadata.Name = "mallory"
		e.Metadata.Annotations["github.com/user-login"] = "mallory"
		e.Spec["profile"].(map[string]any)["email"] = "mallory@example.com"
		for i := range e.Relations {
			e.Relations[i].TargetRef = "group:default/admins"
		}
		again, err := c.FindUser(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if again.Metadata.Name != "alice" || again.Metadata.Annotations["github.com/user-login"] != "alice-gh" ||
			again.Spec["profile"].(map[string]any)["email"] != "Alice@Example.com" ||
			catalog.OwnershipEntityRefs(again)[1] != "group:default/team-a" {
			t.Fatalf("mutating a result changed the catalog: %+v", again)
		}
		if _, err := c.FindUser(context.Background(), catalog.Query{Filter: []map[string]string{{"spec.profile.email": "mallory@example.com"}}}); !autherr.IsNotFound(err) {
			t.Fatalf("mutating a result changed the email index: %v", err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := newCat(t)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 50; j++ {
					e, err := c.FindUser(context.Background(), catalog.Query{Filter: []map[string]string{{"spec.profile.email": "alice@example.com"}}})
					if err != nil || catalog.RefOf(e) != "user:default/alice" {
						t.Errorf("concurrent FindUser = %v, %v", catalog.RefOf(e), err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
}

type findCase struct {
	name    string
	q       catalog.Query
	want    string // ref of the expected entity
	errName string // expected autherr name, if an error is expected
	errMsg  string // expected exact message, if any
}

func f(groups ...map[string]string) catalog.Query { return catalog.Query{Filter: groups} }

func findCases() []findCase {
	const (
		notFound = "User not found"
		conflict = "User lookup resulted in multiple matches"
		invalid  = "Invalid user lookup query"
	)
	alice := "user:default/alice"
	bob := "user:eng/bob"
	cases := []findCase{}
	for _, ref := range []string{"alice", "user:alice", "user:default/alice", "default/alice", "User:Default/ALICE", "ALICE"} {
		cases = append(cases, findCase{name: "EntityRef/" + ref, q: catalog.Query{EntityRef: ref}, want: alice})
	}
	for _, ref := range []string{"eng/bob", "user:eng/Bob", "USER:ENG/BOB"} {
		cases = append(cases, findCase{name: "EntityRef/" + ref, q: catalog.Query{EntityRef: ref}, want: bob})
	}
	cases = append(cases,
		findCase{name: "EntityRef/group", q: catalog.Query{EntityRef: "group:default/team-a"}, want: "group:default/team-a"},
		findCase{name: "EntityRef/wrong-namespace", q: catalog.Query{EntityRef: "bob"}, errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "EntityRef/unknown", q: catalog.Query{EntityRef: "user:default/nobody"}, errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "EntityRef/malformed", q: catalog.Query{EntityRef: "user:"}, errName: autherr.NameInput},

		findCase{name: "Email/exact", q: f(map[string]string{"spec.profile.email": "Alice@Example.com"}), want: alice},
		findCase{name: "Email/case-insensitive", q: f(map[string]string{"spec.profile.email": "ALICE@example.COM"}), want: alice},
		findCase{name: "Email/key-case-insensitive", q: f(map[string]string{"Spec.Profile.Email": "bob@example.com"}), want: bob},
		findCase{name: "Email/unknown", q: f(map[string]string{"spec.profile.email": "nobody@example.com"}), errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "Email/group-email-without-kind", q: f(map[string]string{"spec.profile.email": "team-a@example.com"}), errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "Email/duplicate", q: f(map[string]string{"spec.profile.email": "shared@example.com"}), errName: autherr.NameConflict, errMsg: conflict},

		findCase{name: "Filter/name", q: f(map[string]string{"metadata.name": "BOB"}), want: bob},
		findCase{name: "Filter/and", q: f(map[string]string{"metadata.name": "bob", "metadata.namespace": "eng"}), want: bob},
		findCase{name: "Filter/and-mismatch", q: f(map[string]string{"metadata.name": "bob", "metadata.namespace": "default"}), errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "Filter/kind-user-explicit", q: f(map[string]string{"kind": "User", "metadata.name": "erin"}), want: "user:default/erin"},
		findCase{name: "Filter/explicit-group-kind", q: f(map[string]string{"Kind": "Group", "metadata.name": "team-a"}), want: "group:default/team-a"},
		findCase{name: "Filter/explicit-group-kind-email", q: f(map[string]string{"KIND": "group", "spec.profile.email": "TEAM-A@example.com"}), want: "group:default/team-a"},
		findCase{name: "Filter/or-first-misses", q: f(map[string]string{"spec.profile.email": "nobody@example.com"}, map[string]string{"metadata.name": "bob"}), want: bob},
		findCase{name: "Filter/or-same-entity", q: f(map[string]string{"metadata.name": "alice"}, map[string]string{"spec.profile.email": "alice@example.com"}), want: alice},
		findCase{name: "Filter/or-two-entities", q: f(map[string]string{"metadata.name": "alice"}, map[string]string{"metadata.name": "bob"}), errName: autherr.NameConflict, errMsg: conflict},
		findCase{name: "Filter/or-all-miss", q: f(map[string]string{"metadata.name": "x"}, map[string]string{"metadata.name": "y"}), errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "Filter/annotation-key", q: f(map[string]string{"metadata.annotations.github.com/user-login": "alice-gh"}), want: alice},
		findCase{name: "Filter/relations-memberof", q: f(map[string]string{"relations.memberOf": "group:ops/sre"}), want: alice},
		findCase{name: "Filter/no-group-members-match-twice", q: f(map[string]string{"relations.memberof": "group:default/team-a"}), errName: autherr.NameConflict, errMsg: conflict},

		findCase{name: "Annotations/single", q: catalog.Query{Annotations: map[string]string{"github.com/user-login": "ALICE-GH"}}, want: alice},
		findCase{name: "Annotations/dotted-key", q: catalog.Query{Annotations: map[string]string{"example.com/emp.id": "a-1"}}, want: alice},
		findCase{name: "Annotations/and", q: catalog.Query{Annotations: map[string]string{"github.com/user-login": "alice-gh", "example.com/emp.id": "B-2"}}, errName: autherr.NameNotFound, errMsg: notFound},
		findCase{name: "Annotations/unknown", q: catalog.Query{Annotations: map[string]string{"github.com/user-login": "nobody"}}, errName: autherr.NameNotFound, errMsg: notFound},

		findCase{name: "Empty/zero", q: catalog.Query{}, errName: autherr.NameInput, errMsg: invalid},
		findCase{name: "Empty/empty-filter", q: catalog.Query{Filter: []map[string]string{}}, errName: autherr.NameInput, errMsg: invalid},
		findCase{name: "Empty/empty-annotations", q: catalog.Query{Annotations: map[string]string{}}, errName: autherr.NameInput, errMsg: invalid},
	)
	return cases
}
