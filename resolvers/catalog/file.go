package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/plainvalue"
)

// The messages FindUser returns, as Backstage's CatalogAuthResolverContext
// words them.
const (
	MsgNotFound     = "User not found"
	MsgConflict     = "User lookup resulted in multiple matches"
	MsgInvalidQuery = "Invalid user lookup query"
)

// FileCatalog is an in-memory catalog of User and Group entities, read from
// Backstage entity YAML (LoadFileCatalog) or built from values
// (NewFileCatalog). It is immutable once built and safe for concurrent use.
// Lookups by entity ref, spec.profile.email and metadata.name are map
// lookups; other filters scan every entity.
type FileCatalog struct {
	records []*record
	byRef   map[string]*record
	byEmail map[string][]*record
	byName  map[string][]*record
}

var _ Catalog = (*FileCatalog)(nil)

// record is one stored entity with its Backstage-style search fields.
type record struct {
	idx    int
	where  string
	ref    string
	entity Entity
	// fields maps lower-cased dot-path keys to lower-cased values, as the
	// catalog's search table (buildEntitySearch) does.
	fields map[string][]string
}

// input is an entity before relations and indexes are built.
type input struct {
	entity Entity
	doc    map[string]any // the full document, for search fields; may be nil
	where  string
}

// Len returns the number of entities in the catalog.
func (c *FileCatalog) Len() int { return len(c.records) }

// FindUser returns a deep copy of the single entity matching q, following
// Backstage's findCatalogUser: an EntityRef (default kind User, namespace
// default) is looked up by its lower-cased ref; Annotations become the filter
// {kind: user, metadata.annotations.<k>: v, ...}; each Filter group without
// a "kind" key (compared case-insensitively) also gets kind=user, and the
// groups are OR-ed. Keys and values compare case-insensitively. When several
// fields of q are set, EntityRef wins over Annotations over Filter.
// It returns an autherr NotFound "User not found" for no match, Conflict
// "User lookup resulted in multiple matches" for several, Input
// "Invalid user lookup query" for an empty query, an Input error for an
// unparsable ref, and ctx.Err() when ctx is done.
func (c *FileCatalog) FindUser(ctx context.Context, q Query) (*Entity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case q.EntityRef != "":
		ref, err := ParseEntityRef(q.EntityRef, "User", DefaultNamespace)
		if err != nil {
			return nil, err
		}
		r, ok := c.byRef[ref.String()]
		if !ok {
			return nil, autherr.NotFound(MsgNotFound)
		}
		return copyEntity(&r.entity), nil
	case len(q.Annotations) > 0:
		g := make(map[string]string, len(q.Annotations)+1)
		g["kind"] = "user"
		for k, v := range q.Annotations {
			g["metadata.annotations."+k] = v
		}
		return c.findFilter([]map[string]string{g})
	case len(q.Filter) > 0:
		return c.findFilter(q.Filter)
	}
	return nil, autherr.Input(MsgInvalidQuery)
}

// findFilter evaluates an OR of AND-groups.
func (c *FileCatalog) findFilter(filter []map[string]string) (*Entity, error) {
	var found *record
	var g []kv
	for _, group := range filter {
		g = g[:0]
		hasKind := false
		var email, name string
		var byEmail, byName bool
		for k, v := range group {
			k, v = strings.ToLower(k), strings.ToLower(v)
			g = append(g, kv{k, v})
			switch k {
			case "kind":
				hasKind = true
			case "spec.profile.email":
				email, byEmail = v, true
			case "metadata.name":
				name, byName = v, true
			}
		}
		if !hasKind {
			g = append(g, kv{"kind", "user"})
		}
		var candidates []*record
		switch {
		case byEmail:
			candidates = c.byEmail[email]
		case byName:
			candidates = c.byName[name]
		default:
			candidates = c.records
		}
		for _, r := range candidates {
			if r == found || !r.matches(g) {
				continue
			}
			if found != nil {
				return nil, autherr.Conflict(MsgConflict)
			}
			found = r
		}
	}
	if found == nil {
		return nil, autherr.NotFound(MsgNotFound)
	}
	return copyEntity(&found.entity), nil
}

// kv is one lower-cased key and value of a filter group.
type kv struct{ key, value string }

// matches reports whether every key of the lower-cased group has a value
// equal to the group's value.
func (r *record) matches(g []kv) bool {
	for _, p := range g {
		ok := false
		for _, v := range r.fields[p.key] {
			if v == p.value {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// NewFileCatalog builds a catalog from entities held in memory. Entities of
// any kind are kept; relations are computed from User spec.memberOf and
// Group spec.members, spec.parent and spec.children exactly as
// LoadFileCatalog does, and relations already on an entity are kept after
// the computed ones. An empty namespace becomes "default". The entities are
// deep-copied, so later changes to them do not affect the catalog. Errors
// name the entity by its 1-based position ("entity 3: metadata.name
// required"); duplicate refs are an error naming both positions.
func NewFileCatalog(entities []Entity) (*FileCatalog, error) {
	ins := make([]input, 0, len(entities))
	for i := range entities {
		e := copyEntity(&entities[i])
		e.Spec = plainvalue.CopyMap(e.Spec)
		ins = append(ins, input{entity: *e, where: fmt.Sprintf("entity %d", i+1)})
	}
	return build(ins)
}

// LoadFileCatalog reads Backstage entity YAML files. Each file may hold
// several `---`-separated documents; User and Group entities are kept,
// Location entities (spec.target and spec.targets, of type "file", relative
// to the Location's file, globs allowed) are followed in place, every other
// kind is ignored, and a file already read is not read again, so Location
// cycles terminate. A relative path resolves against the working directory,
// as Backstage's catalog.locations file targets do; a path with glob
// characters may match nothing, a plain path must exist. No paths give an
// empty catalog. Relations are computed as NewFileCatalog documents. Errors
// name the file and the 1-based document index ("users.yaml: document 3:
// metadata.name required"); YAML syntax errors carry the line; a duplicate
// entity ref is an error naming both places.
func LoadFileCatalog(paths []string) (*FileCatalog, error) {
	l := &loader{seen: map[string]bool{}}
	for _, p := range paths {
		if err := l.loadTarget(p); err != nil {
			return nil, err
		}
	}
	return build(l.inputs)
}

type loader struct {
	seen   map[string]bool
	inputs []input
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// loadTarget loads a path or glob.
func (l *loader) loadTarget(p string) error {
	if !hasGlob(p) {
		return l.loadFile(p)
	}
	matches, err := filepath.Glob(p)
	if err != nil {
		return fmt.Errorf("catalog: bad glob %q: %w", p, err)
	}
	sort.Strings(matches)
	for _, m := range matches {
		if err := l.loadFile(m); err != nil {
			return err
		}
	}
	return nil
}

type rawEntity struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Annotations map[string]string `yaml:"annotations"`
		Labels      map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec      map[string]any `yaml:"spec"`
	Relations []struct {
		Type      string `yaml:"type"`
		TargetRef string `yaml:"targetRef"`
	} `yaml:"relations"`
}

// loadFile reads every document of the file at path, once per absolute
// path: User and Group entities become inputs, Locations are followed,
// empty documents and other kinds are skipped.
func (l *loader) loadFile(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("catalog: %s: %w", path, err)
	}
	if l.seen[abs] {
		return nil
	}
	l.seen[abs] = true
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		where := fmt.Sprintf("%s: document %d", path, doc)
		var node yaml.Node
		if err := dec.Decode(&node); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", where, err)
		}
		if len(node.Content) == 0 || (node.Content[0].Kind == yaml.ScalarNode && node.Content[0].Tag == "!!null") {
			continue // empty document
		}
		if err := l.loadDocument(node.Content[0], path, where); err != nil {
			return err
		}
	}
}

// loadDocument decodes one non-empty document of the file at path: a User
// or Group becomes an input (keeping the whole document for search fields),
// a Location is followed, other kinds are ignored.
func (l *loader) loadDocument(root *yaml.Node, path, where string) error {
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: line %d: an entity must be a mapping", where, root.Line)
	}
	var raw rawEntity
	if err := root.Decode(&raw); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	var full map[string]any
	if err := root.Decode(&full); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	switch strings.ToLower(raw.Kind) {
	case "":
		return fmt.Errorf("%s: kind required", where)
	case "location":
		return l.followLocation(path, where, raw.Spec)
	case "user", "group":
	default:
		return nil
	}
	e := Entity{
		APIVersion: raw.APIVersion,
		Kind:       raw.Kind,
		Metadata: Metadata{
			Name:        raw.Metadata.Name,
			Namespace:   raw.Metadata.Namespace,
			Annotations: raw.Metadata.Annotations,
			Labels:      raw.Metadata.Labels,
		},
		Spec: plainvalue.CopyMap(raw.Spec),
	}
	for _, r := range raw.Relations {
		e.Relations = append(e.Relations, Relation{Type: r.Type, TargetRef: r.TargetRef})
	}
	l.inputs = append(l.inputs, input{entity: e, doc: plainvalue.CopyMap(full), where: where})
	return nil
}

// followLocation loads the file targets of a Location entity.
func (l *loader) followLocation(path, where string, spec map[string]any) error {
	if t, ok := spec["type"]; ok && t != nil {
		if s, _ := t.(string); s != "file" {
			return fmt.Errorf("%s: Location: unsupported type %v (only file locations can be followed)", where, t)
		}
	}
	var targets []string
	if t, ok := spec["target"]; ok && t != nil {
		s, isStr := t.(string)
		if !isStr || s == "" {
			return fmt.Errorf("%s: Location: spec.target must be a non-empty string", where)
		}
		targets = append(targets, s)
	}
	list, err := stringList(spec, "targets")
	if err != nil {
		return fmt.Errorf("%s: Location: %w", where, err)
	}
	targets = append(targets, list...)
	if len(targets) == 0 {
		return fmt.Errorf("%s: Location: spec.target or spec.targets required", where)
	}
	dir := filepath.Dir(path)
	for _, t := range targets {
		if t == "" {
			return fmt.Errorf("%s: Location: empty target", where)
		}
		p := t
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := l.loadTarget(p); err != nil {
			return fmt.Errorf("%s: Location target %q: %w", where, t, err)
		}
	}
	return nil
}

// stringList reads spec[key] as a list of strings; a single string is a
// one-element list and a missing key is an empty list.
func stringList(spec map[string]any, key string) ([]string, error) {
	v, ok := spec[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("spec.%s[%d] must be a string", key, i)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("spec.%s must be a list of strings", key)
}

// validName rejects names and namespaces that would make refs ambiguous.
func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ":/ \t\r\n")
}

// build validates the inputs, computes relations and search fields, and
// indexes them.
func build(ins []input) (*FileCatalog, error) {
	c := &FileCatalog{
		byRef:   make(map[string]*record, len(ins)),
		byEmail: make(map[string][]*record, len(ins)),
		byName:  make(map[string][]*record, len(ins)),
	}
	if err := c.addRecords(ins); err != nil {
		return nil, err
	}
	if err := c.relate(); err != nil {
		return nil, err
	}
	c.indexSearchFields(ins)
	return c, nil
}

// addRecords validates each input, defaults its namespace and records it
// under its ref; a ref seen before is an error naming both places.
func (c *FileCatalog) addRecords(ins []input) error {
	for i := range ins {
		in := &ins[i]
		e := in.entity
		if err := checkEntity(&e, in.where); err != nil {
			return err
		}
		ref := RefOf(&e)
		if prev, dup := c.byRef[ref]; dup {
			return fmt.Errorf("%s: duplicate entity %s (first defined in %s)", in.where, ref, prev.where)
		}
		r := &record{idx: i, where: in.where, ref: ref, entity: e}
		c.byRef[ref] = r
		c.records = append(c.records, r)
	}
	return nil
}

// checkEntity rejects an entity without kind or name, or whose kind, name
// or namespace would make its ref ambiguous, and sets an empty namespace to
// DefaultNamespace.
func checkEntity(e *Entity, where string) error {
	if e.Kind == "" {
		return fmt.Errorf("%s: kind required", where)
	}
	if e.Metadata.Name == "" {
		return fmt.Errorf("%s: metadata.name required", where)
	}
	if !validName(e.Metadata.Name) {
		return fmt.Errorf("%s: invalid metadata.name %q", where, e.Metadata.Name)
	}
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = DefaultNamespace
	} else if !validName(e.Metadata.Namespace) {
		return fmt.Errorf("%s: invalid metadata.namespace %q", where, e.Metadata.Namespace)
	}
	if strings.ContainsAny(e.Kind, ":/ ") {
		return fmt.Errorf("%s: invalid kind %q", where, e.Kind)
	}
	return nil
}

// specRelation is one relation a User's or Group's spec declares: its own
// type on the declaring entity and the reverse type on the target.
type specRelation struct {
	target   string
	own, rev string
}

// relate sets every record's relations, as Backstage's
// BuiltinKindsEntityProcessor emits them: first each entity's own relations
// from its spec, then the reverse relations onto their targets, in entity
// order, then the relations the entity already had; duplicates dropped.
func (c *FileCatalog) relate() error {
	own := make([][]Relation, len(c.records))
	reverse := make([][]specRelation, 0, len(c.records))
	for i, r := range c.records {
		rels, err := specRelations(&r.entity)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", r.where, r.ref, err)
		}
		for _, sr := range rels {
			own[i] = append(own[i], Relation{Type: sr.own, TargetRef: sr.target})
		}
		reverse = append(reverse, rels)
	}
	for i, rels := range reverse {
		for _, sr := range rels {
			if t, ok := c.byRef[sr.target]; ok {
				own[t.idx] = append(own[t.idx], Relation{Type: sr.rev, TargetRef: c.records[i].ref})
			}
		}
	}
	for i, r := range c.records {
		r.entity.Relations = sortedUnique(append(own[i], r.entity.Relations...))
	}
	return nil
}

// specRelations reads the relations a User's spec.memberOf or a Group's
// spec.members, spec.parent and spec.children declare, in that order; refs
// without kind or namespace take the field's kind and the entity's
// namespace.
func specRelations(e *Entity) ([]specRelation, error) {
	var out []specRelation
	add := func(key, defKind, ownType, revType string) error {
		list, err := stringList(e.Spec, key)
		if err != nil {
			return err
		}
		for j, s := range list {
			t, err := ParseEntityRef(s, defKind, e.Metadata.Namespace)
			if err != nil {
				return fmt.Errorf("spec.%s[%d]: %w", key, j, err)
			}
			out = append(out, specRelation{target: t.String(), own: ownType, rev: revType})
		}
		return nil
	}
	var err error
	switch strings.ToLower(e.Kind) {
	case "user":
		err = add("memberOf", "Group", "memberOf", "hasMember")
	case "group":
		err = add("members", "User", "hasMember", "memberOf")
		if err == nil {
			if p, ok := e.Spec["parent"]; ok && p != nil {
				if _, isStr := p.(string); !isStr {
					err = errors.New("spec.parent must be a string")
				} else {
					err = add("parent", "Group", "childOf", "parentOf")
				}
			}
		}
		if err == nil {
			err = add("children", "Group", "parentOf", "childOf")
		}
	}
	return out, err
}

// sortedUnique drops repeated relations and orders the rest by type, then
// target ref, as the catalog's stitcher reads them (performStitching), so
// ownership refs come out in that order on a real Backstage catalog too.
// No relations give nil.
func sortedUnique(rels []Relation) []Relation {
	seen := make(map[Relation]bool, len(rels))
	out := make([]Relation, 0, len(rels))
	for _, rel := range rels {
		if !seen[rel] {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Type != out[b].Type {
			return out[a].Type < out[b].Type
		}
		return out[a].TargetRef < out[b].TargetRef
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// indexSearchFields computes each record's search fields, from the document
// it was read from or else from the entity, and indexes the records by
// spec.profile.email and metadata.name.
func (c *FileCatalog) indexSearchFields(ins []input) {
	for i, r := range c.records {
		doc := ins[i].doc
		if doc == nil {
			doc = entityDoc(&r.entity)
		}
		r.fields = searchFields(doc, &r.entity)
		for _, v := range r.fields["spec.profile.email"] {
			c.byEmail[v] = append(c.byEmail[v], r)
		}
		for _, v := range r.fields["metadata.name"] {
			c.byName[v] = append(c.byName[v], r)
		}
	}
}

// entityDoc renders an entity as the generic document it was read from.
func entityDoc(e *Entity) map[string]any {
	md := map[string]any{"name": e.Metadata.Name, "namespace": e.Metadata.Namespace}
	if e.Metadata.Annotations != nil {
		md["annotations"] = plainvalue.Copy(e.Metadata.Annotations)
	}
	if e.Metadata.Labels != nil {
		md["labels"] = plainvalue.Copy(e.Metadata.Labels)
	}
	doc := map[string]any{"apiVersion": e.APIVersion, "kind": e.Kind, "metadata": md}
	if e.Spec != nil {
		doc["spec"] = e.Spec
	}
	return doc
}

// skipKeys are the paths the catalog's search table leaves out of the
// generic traversal (buildEntitySearch SPECIAL_KEYS).
var skipKeys = map[string]bool{
	"attachments": true, "relations": true, "status": true,
	"metadata.name": true, "metadata.namespace": true, "metadata.uid": true, "metadata.etag": true,
}

// searchFields flattens doc the way Backstage's buildEntitySearch does:
// nested keys joined by '.', list items under their list's key (plus
// "<key>.<item>" for string items), then metadata.name, metadata.namespace
// and "relations.<type>" = targetRef; keys and values lower-cased.
func searchFields(doc map[string]any, e *Entity) map[string][]string {
	out := map[string][]string{}
	put := func(k, v string) {
		k, v = strings.ToLower(k), strings.ToLower(v)
		for _, have := range out[k] {
			if have == v {
				return
			}
		}
		out[k] = append(out[k], v)
	}
	var visit func(path string, v any)
	visit = func(path string, v any) {
		if skipKeys[strings.ToLower(path)] {
			return
		}
		switch v := v.(type) {
		case nil:
		case map[string]any:
			for k, x := range v {
				if path == "" {
					visit(k, x)
				} else {
					visit(path+"."+k, x)
				}
			}
		case []any:
			for _, x := range v {
				visit(path, x)
				if s, ok := x.(string); ok {
					put(path+"."+s, "true")
				}
			}
		default:
			if path != "" {
				put(path, fmt.Sprint(v))
			}
		}
	}
	visit("", doc)
	put("metadata.name", e.Metadata.Name)
	put("metadata.namespace", e.Metadata.Namespace)
	for _, r := range e.Relations {
		put("relations."+r.Type, r.TargetRef)
	}
	return out
}

// copyEntity returns a deep copy of e.
func copyEntity(e *Entity) *Entity {
	c := *e
	c.Metadata.Annotations = copyStrings(e.Metadata.Annotations)
	c.Metadata.Labels = copyStrings(e.Metadata.Labels)
	c.Spec = plainvalue.CopyMap(e.Spec)
	if e.Relations != nil {
		c.Relations = append([]Relation(nil), e.Relations...)
	}
	return &c
}

func copyStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
