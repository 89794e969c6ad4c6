// Package catalog finds Backstage User entities for sign-in resolvers, the way
// Backstage's auth backend asks its catalog (findCatalogUser). FileCatalog reads
// entity YAML from disk; BackstageCatalog asks a running Backstage catalog
// backend (catalog/backstage.go).
package catalog

import "context"

// Query selects a user. Exactly one of its fields is set.
type Query struct {
	// EntityRef is a ref such as "alice", "user:alice" or "user:default/alice";
	// kind defaults to User and namespace to default.
	EntityRef string
	// Filter is an OR of AND-groups of dot-path keys to values, e.g.
	// [{"spec.profile.email": "a@b.c"}]. A group without a "kind" key
	// (compared case-insensitively) also gets kind=user, as in Backstage.
	// Values match case-insensitively.
	Filter []map[string]string
	// Annotations matches metadata.annotations.<key> = value, with kind=user.
	Annotations map[string]string
}

// Relation is one entry of an entity's relations list.
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// Entity is a catalog entity as the catalog API serves it.
type Entity struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Metadata       `json:"metadata"`
	Spec       map[string]any `json:"spec,omitempty"`
	Relations  []Relation     `json:"relations,omitempty"`
}

// Metadata is the subset of entity metadata Gatehouse reads.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Catalog finds users.
type Catalog interface {
	// FindUser returns the single entity matching q. It returns an
	// autherr NotFound "User not found" when nothing matches, a Conflict
	// "User lookup resulted in multiple matches" when several do, and an
	// Input "Invalid user lookup query" when q is empty.
	FindUser(ctx context.Context, q Query) (*Entity, error)
}
