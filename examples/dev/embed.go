// Package dev holds the demo's app-config, catalog, IdP users and the page
// that plays the Backstage app, embedded so that cmd/gatehouse-dev runs
// from any directory.
package dev

import "embed"

// Files are app-config.yaml, catalog.yaml, users.yaml and demo.html.
//
//go:embed app-config.yaml catalog.yaml users.yaml demo.html
var Files embed.FS
