package resolvers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Deps are what resolvers may use to find users.
type Deps struct {
	Catalog catalog.Catalog
}

// ResolverFactory opens a sign-in resolver from its config options (nil
// when the entry has none). It rejects bad options at start-up.
type ResolverFactory func(options map[string]any, deps Deps) (SignInResolver, error)

// TransformFactory opens a profile transform from its config options.
type TransformFactory func(options map[string]any) (ProfileTransform, error)

// options reads a resolver's options with Backstage's messages: an unknown
// key or a wrong type is "Invalid sign-in resolver options, …".
type options struct {
	m    map[string]any
	used []string
	errs []string
}

func newOptions(m map[string]any) *options { return &options{m: m} }

func (o *options) bool(key string) bool {
	o.used = append(o.used, key)
	v, ok := o.m[key]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		o.errs = append(o.errs, fmt.Sprintf("%q must be a boolean, got %T", key, v))
	}
	return b
}

func (o *options) strings(key string) ([]string, bool) {
	o.used = append(o.used, key)
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil, false
	}
	var out []string
	switch l := v.(type) {
	case []string:
		out = l
	case []any:
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				o.errs = append(o.errs, fmt.Sprintf("%q[%d] must be a string, got %T", key, i, e))
				continue
			}
			out = append(out, s)
		}
	default:
		o.errs = append(o.errs, fmt.Sprintf("%q must be a list of strings, got %T", key, v))
	}
	return out, true
}

// err reports wrong types and unknown keys. Backstage's zod schemas drop
// unknown keys silently; Gatehouse rejects them, because a misspelt
// dangerouslyAllowSignInWithoutUserInCatalog that silently did nothing
// would change who can sign in.
func (o *options) err() error {
	var unknown []string
	for k := range o.m {
		if !slices.Contains(o.used, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		if len(o.used) == 0 {
			return fmt.Errorf("sign-in resolver does not accept options")
		}
		o.errs = append(o.errs, fmt.Sprintf("unknown option %q (accepted: %s)", k, strings.Join(o.used, ", ")))
	}
	if len(o.errs) > 0 {
		return fmt.Errorf("Invalid sign-in resolver options, %s", strings.Join(o.errs, "; "))
	}
	return nil
}
