package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog/catalogtest"
)

func TestFileCatalogConformance(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T, entities []catalog.Entity) catalog.Catalog {
		c, err := catalog.NewFileCatalog(entities)
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// TestLoadFileCatalogConformance writes the fixture as YAML and runs the
// suite against the loaded catalog.
func TestLoadFileCatalogConformance(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T, entities []catalog.Entity) catalog.Catalog {
		dir := t.TempDir()
		var b strings.Builder
		for _, e := range entities {
			b.WriteString("---\n")
			b.WriteString(toYAML(t, e))
		}
		path := filepath.Join(dir, "all.yaml")
		write(t, path, b.String())
		c, err := catalog.LoadFileCatalog([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func toYAML(t *testing.T, e catalog.Entity) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %q\n", e.APIVersion, e.Kind, e.Metadata.Name)
	if e.Metadata.Namespace != "" {
		fmt.Fprintf(&b, "  namespace: %q\n", e.Metadata.Namespace)
	}
	if len(e.Metadata.Annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range e.Metadata.Annotations {
			fmt.Fprintf(&b, "    %q: %q\n", k, v)
		}
	}
	b.WriteString("spec: ")
	writeValue(&b, e.Spec)
	b.WriteString("\n")
	return b.String()
}

// writeValue writes v in YAML flow style (JSON is valid YAML).
func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteString("{")
		i := 0
		for k, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			i++
			fmt.Fprintf(b, "%q: ", k)
			writeValue(b, x)
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, x)
		}
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%q", fmt.Sprint(v))
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func find(t *testing.T, c catalog.Catalog, q catalog.Query) *catalog.Entity {
	t.Helper()
	e, err := c.FindUser(context.Background(), q)
	if err != nil {
		t.Fatalf("FindUser(%+v): %v", q, err)
	}
	return e
}

const usersYAML = `apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: alice
  title: Alice A.
  annotations:
    example.com/login: alice
spec:
  profile:
    email: alice@example.com
  memberOf: [team-a]
---
# a comment-only document is skipped
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ignored
spec: {type: service}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: bob
spec:
  profile:
    email: bob@example.com
  memberOf: []
`

const groupsYAML = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  parent: org
  children: []
  members: [bob]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: org
spec:
  type: org
  children: []
`

func TestLoadFileCatalogMultiDoc(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	groups := filepath.Join(dir, "groups.yaml")
	write(t, users, usersYAML)
	write(t, groups, groupsYAML)
	c, err := catalog.LoadFileCatalog([]string{users, groups})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 4 {
		t.Fatalf("Len = %d, want 4 (Component ignored)", c.Len())
	}
	alice := find(t, c, catalog.Query{Filter: []map[string]string{{"spec.profile.email": "ALICE@example.com"}}})
	if got, want := catalog.OwnershipEntityRefs(alice), []string{"user:default/alice", "group:default/team-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("alice ownership = %q, want %q", got, want)
	}
	if alice.Metadata.Namespace != "default" {
		t.Errorf("namespace = %q, want default", alice.Metadata.Namespace)
	}
	// Metadata fields outside Metadata's subset are still searchable.
	find(t, c, catalog.Query{Filter: []map[string]string{{"metadata.title": "alice a."}}})
	bob := find(t, c, catalog.Query{EntityRef: "bob"})
	if got, want := catalog.OwnershipEntityRefs(bob), []string{"user:default/bob", "group:default/team-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bob ownership = %q, want %q", got, want)
	}
	team := find(t, c, catalog.Query{EntityRef: "group:team-a"})
	// Ordered by type, then target, as the catalog's stitcher serves them.
	wantRel := []catalog.Relation{
		{Type: "childOf", TargetRef: "group:default/org"},
		{Type: "hasMember", TargetRef: "user:default/alice"},
		{Type: "hasMember", TargetRef: "user:default/bob"},
	}
	if !reflect.DeepEqual(team.Relations, wantRel) {
		t.Errorf("team-a relations = %v, want %v", team.Relations, wantRel)
	}
	org := find(t, c, catalog.Query{EntityRef: "group:org"})
	if want := []catalog.Relation{{Type: "parentOf", TargetRef: "group:default/team-a"}}; !reflect.DeepEqual(org.Relations, want) {
		t.Errorf("org relations = %v, want %v", org.Relations, want)
	}
	if _, err := c.FindUser(context.Background(), catalog.Query{EntityRef: "component:ignored"}); !autherr.IsNotFound(err) {
		t.Errorf("Component should be ignored, got %v", err)
	}
}

func TestLoadFileCatalogLocation(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "org", "users.yaml"), usersYAML)
	write(t, filepath.Join(dir, "org", "teams", "groups.yaml"), groupsYAML)
	// The nested Location points back at the root: a cycle.
	write(t, filepath.Join(dir, "org", "teams", "loc.yaml"), `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: back}
spec:
  targets: [../../all.yaml, ./groups.yaml]
`)
	write(t, filepath.Join(dir, "all.yaml"), `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec:
  type: file
  target: ./org/users.yaml
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: teams}
spec:
  targets: [./org/teams/*.yaml]
`)
	c, err := catalog.LoadFileCatalog([]string{filepath.Join(dir, "all.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 4 {
		t.Fatalf("Len = %d, want 4", c.Len())
	}
	alice := find(t, c, catalog.Query{EntityRef: "alice"})
	if got := catalog.OwnershipEntityRefs(alice); len(got) != 2 || got[1] != "group:default/team-a" {
		t.Errorf("alice ownership = %q", got)
	}
}

func TestLoadFileCatalogRelativePath(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "cat", "users.yaml"), usersYAML)
	t.Chdir(dir)
	c, err := catalog.LoadFileCatalog([]string{"cat/users.yaml", "./cat/users.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	find(t, c, catalog.Query{Annotations: map[string]string{"example.com/login": "ALICE"}})
}

func TestLoadFileCatalogEmpty(t *testing.T) {
	for _, paths := range [][]string{nil, {filepath.Join(t.TempDir(), "none-*.yaml")}} {
		c, err := catalog.LoadFileCatalog(paths)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindUser(context.Background(), catalog.Query{EntityRef: "alice"}); !autherr.IsNotFound(err) || err.Error() != "User not found" {
			t.Errorf("empty catalog FindUser = %v, want NotFound", err)
		}
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "empty.yaml"), "")
	c, err := catalog.LoadFileCatalog([]string{filepath.Join(dir, "empty.yaml")})
	if err != nil || c.Len() != 0 {
		t.Fatalf("empty file: %v, %v", c, err)
	}
}

func TestLoadFileCatalogErrors(t *testing.T) {
	user := func(name, extra string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: " + name + "\n" + extra + "spec: {}\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"bad yaml", map[string]string{"users.yaml": user("a", "") + "---\nkind: User\nmetadata: {name: b\n  x: [\n"},
			[]string{"users.yaml: document 2", "line"}},
		{"missing name", map[string]string{"users.yaml": user("a", "") + "---\n" + user("b", "") + "---\napiVersion: v1\nkind: User\nmetadata: {}\n"},
			[]string{"users.yaml: document 3: metadata.name required"}},
		{"missing kind", map[string]string{"users.yaml": "metadata: {name: a}\n"},
			[]string{"users.yaml: document 1: kind required"}},
		{"not a mapping", map[string]string{"users.yaml": "- a\n- b\n"},
			[]string{"users.yaml: document 1: line 1"}},
		{"duplicate across files", map[string]string{"users.yaml": user("alice", ""), "more.yaml": "---\n" + user("Alice", "")},
			[]string{"more.yaml: document 1: duplicate entity user:default/alice", "users.yaml: document 1"}},
		{"duplicate same file", map[string]string{"users.yaml": user("alice", "") + "---\n" + user("alice", "")},
			[]string{"users.yaml: document 2: duplicate entity user:default/alice (first defined in", "users.yaml: document 1)"}},
		{"bad memberOf", map[string]string{"users.yaml": "kind: User\nmetadata: {name: a}\nspec: {memberOf: [\"group:\"]}\n"},
			[]string{"users.yaml: document 1: user:default/a: spec.memberOf[0]", "group:"}},
		{"non-string memberOf", map[string]string{"users.yaml": "kind: User\nmetadata: {name: a}\nspec: {memberOf: [{a: b}]}\n"},
			[]string{"users.yaml: document 1: user:default/a: spec.memberOf[0] must be a string"}},
		{"url location", map[string]string{"users.yaml": "kind: Location\nmetadata: {name: l}\nspec: {type: url, target: https://x/y.yaml}\n"},
			[]string{"users.yaml: document 1: Location: unsupported type url"}},
		{"missing location target", map[string]string{"users.yaml": "kind: Location\nmetadata: {name: l}\nspec: {target: ./nope.yaml}\n"},
			[]string{"users.yaml: document 1: Location target \"./nope.yaml\"", "nope.yaml"}},
		{"invalid name", map[string]string{"users.yaml": user("a/b", "")},
			[]string{"users.yaml: document 1: invalid metadata.name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			var paths []string
			for _, name := range []string{"users.yaml", "more.yaml"} {
				if content, ok := tt.files[name]; ok {
					write(t, name, content)
					paths = append(paths, name)
				}
			}
			_, err := catalog.LoadFileCatalog(paths)
			if err == nil {
				t.Fatal("LoadFileCatalog succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := catalog.LoadFileCatalog([]string{filepath.Join(t.TempDir(), "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestNewFileCatalogErrors(t *testing.T) {
	u := func(name string) catalog.Entity {
		return catalog.Entity{Kind: "User", Metadata: catalog.Metadata{Name: name}}
	}
	if _, err := catalog.NewFileCatalog([]catalog.Entity{u("a"), u("")}); err == nil || err.Error() != "entity 2: metadata.name required" {
		t.Errorf("missing name error = %v", err)
	}
	if _, err := catalog.NewFileCatalog([]catalog.Entity{u("a"), u("b"), u("A")}); err == nil ||
		!strings.Contains(err.Error(), "entity 3: duplicate entity user:default/a (first defined in entity 1)") {
		t.Errorf("duplicate error = %v", err)
	}
	// Spec values of any Go type are accepted and copied.
	in := []catalog.Entity{{Kind: "User", Metadata: catalog.Metadata{Name: "a"},
		Spec: map[string]any{"memberOf": []string{"g"}, "profile": map[string]string{"email": "a@x"}}}}
	c, err := catalog.NewFileCatalog(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0].Spec["memberOf"].([]string)[0] = "h"
	e := find(t, c, catalog.Query{Filter: []map[string]string{{"spec.profile.email": "A@X"}}})
	if got := catalog.OwnershipEntityRefs(e); !reflect.DeepEqual(got, []string{"user:default/a", "group:default/g"}) {
		t.Errorf("ownership = %q", got)
	}
}

func TestFindUserContextDone(t *testing.T) {
	c, err := catalog.NewFileCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.FindUser(ctx, catalog.Query{EntityRef: "a"}); err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestParseEntityRef(t *testing.T) {
	tests := []struct {
		ref, kind, ns string
		want          catalog.EntityRef
		str           string
		bad           bool
	}{
		{ref: "alice", kind: "User", ns: "default", want: catalog.EntityRef{"User", "default", "alice"}, str: "user:default/alice"},
		{ref: "user:Alice", kind: "Group", want: catalog.EntityRef{"user", "default", "Alice"}, str: "user:default/alice"},
		{ref: "Group:Ops/SRE", kind: "User", ns: "x", want: catalog.EntityRef{"Group", "Ops", "SRE"}, str: "group:ops/sre"},
		{ref: "ops/sre", kind: "Group", ns: "x", want: catalog.EntityRef{"Group", "ops", "sre"}, str: "group:ops/sre"},
		{ref: "sre", kind: "Group", ns: "eng", want: catalog.EntityRef{"Group", "eng", "sre"}, str: "group:eng/sre"},
		{ref: "a@b.c", kind: "User", want: catalog.EntityRef{"User", "default", "a@b.c"}, str: "user:default/a@b.c"},
		{ref: "", kind: "User", bad: true},
		{ref: "user:", kind: "User", bad: true},
		{ref: ":alice", kind: "User", bad: true},
		{ref: "/alice", kind: "User", bad: true},
		{ref: "user:ns/", kind: "User", bad: true},
		{ref: "user:/alice", kind: "User", bad: true},
		{ref: "a:b:c", kind: "User", bad: true},
		{ref: "a/b/c", kind: "User", bad: true},
		{ref: "ns/user:alice", kind: "User", bad: true},
		{ref: "alice", kind: "", bad: true},
	}
	for _, tt := range tests {
		got, err := catalog.ParseEntityRef(tt.ref, tt.kind, tt.ns)
		if tt.bad {
			if err == nil || autherr.NameOf(err) != autherr.NameInput || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.ref)) {
				t.Errorf("ParseEntityRef(%q) = %+v, %v; want an Input error naming the ref", tt.ref, got, err)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseEntityRef(%q, %q, %q) = %+v (%s), %v; want %+v (%s)", tt.ref, tt.kind, tt.ns, got, got.String(), err, tt.want, tt.str)
		}
	}
}

func TestOwnershipEntityRefs(t *testing.T) {
	e := &catalog.Entity{Kind: "User", Metadata: catalog.Metadata{Name: "Alice"}, Relations: []catalog.Relation{
		{Type: "memberOf", TargetRef: "group:default/a"},
		{Type: "memberOf", TargetRef: "user:default/x"},
		{Type: "ownerOf", TargetRef: "group:default/b"},
		{Type: "memberOf", TargetRef: "group:default/a"},
		{Type: "memberOf", TargetRef: "group:eng/c"},
	}}
	want := []string{"user:default/alice", "group:default/a", "group:eng/c"}
	if got := catalog.OwnershipEntityRefs(e); !reflect.DeepEqual(got, want) {
		t.Errorf("OwnershipEntityRefs = %q, want %q", got, want)
	}
	if catalog.OwnershipEntityRefs(nil) != nil || catalog.RefOf(nil) != "" {
		t.Error("nil entity should give nil refs")
	}
}

func BenchmarkFileCatalogFindByEmail(b *testing.B) {
	const n = 1000
	entities := make([]catalog.Entity, 0, n+10)
	for i := 0; i < 10; i++ {
		entities = append(entities, catalog.Entity{Kind: "Group", Metadata: catalog.Metadata{Name: fmt.Sprintf("team-%d", i)},
			Spec: map[string]any{"type": "team", "children": []any{}}})
	}
	for i := 0; i < n; i++ {
		entities = append(entities, catalog.Entity{
			APIVersion: "backstage.io/v1alpha1",
			Kind:       "User",
			Metadata:   catalog.Metadata{Name: fmt.Sprintf("user-%d", i), Annotations: map[string]string{"example.com/id": fmt.Sprint(i)}},
			Spec: map[string]any{
				"profile":  map[string]any{"email": fmt.Sprintf("User-%d@Example.com", i), "displayName": fmt.Sprintf("User %d", i)},
				"memberOf": []any{fmt.Sprintf("team-%d", i%10)},
			},
		})
	}
	c, err := catalog.NewFileCatalog(entities)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	queries := make([]catalog.Query, 64)
	for i := range queries {
		queries[i] = catalog.Query{Filter: []map[string]string{{"spec.profile.email": fmt.Sprintf("user-%d@example.com", i*15)}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := c.FindUser(ctx, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
	}
}
