package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
)

// TestRefreshGraceWiring: the database is the grace store when one is
// open, else memory; a configured 0 reaches the server as "none".
func TestRefreshGraceWiring(t *testing.T) {
	if _, ok := refreshGraceStore(nil).(*identity.MemoryRefreshGraceStore); !ok {
		t.Error("without a database the grace store is not the memory store")
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{Client: sqlstore.ClientSQLite, Connection: sqlstore.MemoryDSN})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := refreshGraceStore(db); got != identity.RefreshGraceStore(db) {
		t.Error("with a database the grace store is not the database")
	}
	for set, want := range map[time.Duration]time.Duration{0: -1, 45 * time.Second: 45 * time.Second} {
		if got := refreshGracePeriod(&config.Config{Sessions: config.Sessions{RefreshGracePeriod: set}}); got != want {
			t.Errorf("refreshGracePeriod(%v) = %v, want %v", set, got, want)
		}
	}
}
