package sqlstore_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/storetest"
)

// TestRefreshGraceStoreConformance runs the SQL stores (SQLite in memory and
// on file, PostgreSQL) through the refresh grace suite.
func TestRefreshGraceStoreConformance(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			storetest.RunRefreshGraceStore(t, func(t *testing.T) identity.RefreshGraceStore { return open(t) })
		})
	}
}
