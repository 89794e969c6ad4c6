package identity_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/storetest"
)

func TestMemoryRefreshGraceStoreConformance(t *testing.T) {
	storetest.RunRefreshGraceStore(t, func(*testing.T) identity.RefreshGraceStore { return identity.NewMemoryRefreshGraceStore() })
}
