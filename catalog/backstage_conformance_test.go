package catalog_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/catalog"
	"github.com/gatehouse-auth/gatehouse/catalog/catalogtest"
	"github.com/gatehouse-auth/gatehouse/internal/backstagetest"
)

// TestBackstageCatalogConformance runs the conformance suite against a real
// Backstage catalog backend. Starting one takes seconds, so one backend
// holding the suite's entities serves every case; each case opens its own
// client (with the cache on, as in production).
func TestBackstageCatalogConformance(t *testing.T) {
	b := backstagetest.Start(t, backstagetest.Options{Entities: catalogtest.Entities()})
	catalogtest.Run(t, func(t *testing.T, entities []catalog.Entity) catalog.Catalog {
		c, err := catalog.NewBackstageCatalog(catalog.BackstageConfig{
			BaseURL:     b.CatalogURL,
			Credentials: catalog.StaticToken(b.StaticToken),
			CacheTTL:    catalog.DefaultBackstageTimeout,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
