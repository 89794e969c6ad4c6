package catalog

import (
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// DefaultNamespace is the namespace of an entity or ref that names none.
const DefaultNamespace = "default"

// EntityRef is a parsed entity reference. ParseEntityRef keeps the case of
// its input; String lower-cases.
type EntityRef struct {
	Kind      string
	Namespace string
	Name      string
}

// ParseEntityRef parses a ref of the Backstage form [<kind>:][<namespace>/]<name>.
// A missing kind becomes defaultKind and a missing namespace becomes
// defaultNamespace (or "default" when that is empty). It returns an autherr
// Input error naming the ref when the ref is empty, has an empty part, has
// more than one ':' or '/', has '/' before ':', or has no kind and
// defaultKind is empty. The returned parts are never empty.
func ParseEntityRef(ref, defaultKind, defaultNamespace string) (EntityRef, error) {
	bad := func() (EntityRef, error) {
		return EntityRef{}, autherr.Input("Entity reference %q was not on the form [<kind>:][<namespace>/]<name>", ref)
	}
	if ref == "" || strings.Count(ref, ":") > 1 || strings.Count(ref, "/") > 1 {
		return bad()
	}
	r := EntityRef{Kind: defaultKind, Namespace: defaultNamespace}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	rest := ref
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		if strings.IndexByte(rest[:i], '/') >= 0 || i == 0 {
			return bad()
		}
		r.Kind, rest = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if i == 0 {
			return bad()
		}
		r.Namespace, rest = rest[:i], rest[i+1:]
	}
	if rest == "" {
		return bad()
	}
	r.Name = rest
	if r.Kind == "" {
		return EntityRef{}, autherr.Input("Entity reference %q had missing or empty kind (e.g. did not start with \"component:\" or similar)", ref)
	}
	return r, nil
}

// String returns "kind:namespace/name" with every part lower-cased, as
// catalog-model 1.10's stringifyEntityRef does. An empty namespace is
// written as "default".
func (r EntityRef) String() string {
	ns := r.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return strings.ToLower(r.Kind) + ":" + strings.ToLower(ns) + "/" + strings.ToLower(r.Name)
}

// RefOf returns the lower-cased ref "kind:namespace/name" of e; an empty
// namespace counts as "default". It returns "" for a nil entity.
func RefOf(e *Entity) string {
	if e == nil {
		return ""
	}
	return EntityRef{Kind: e.Kind, Namespace: e.Metadata.Namespace, Name: e.Metadata.Name}.String()
}

// OwnershipEntityRefs returns Backstage's default ownership refs
// (getDefaultOwnershipEntityRefs): the entity's own ref first, then the
// targetRef of every relation of type "memberOf" whose target starts with
// "group:", in relation order (a catalog serves relations ordered by type,
// then target ref), without duplicates. Only direct memberships
// count; parent groups are not followed. It returns nil for a nil entity.
func OwnershipEntityRefs(e *Entity) []string {
	if e == nil {
		return nil
	}
	self := RefOf(e)
	out := []string{self}
	seen := map[string]bool{self: true}
	for _, r := range e.Relations {
		if r.Type != "memberOf" || !strings.HasPrefix(r.TargetRef, "group:") || seen[r.TargetRef] {
			continue
		}
		seen[r.TargetRef] = true
		out = append(out, r.TargetRef)
	}
	return out
}
