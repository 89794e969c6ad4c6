package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// openCatalog opens the user directory gatehouse.catalog.source names: the
// file catalog of catalog.locations (default), or the Backstage catalog at
// discovery's `catalog` URL. It returns the plugin keys Gatehouse signs its
// service tokens with (always, so /.backstage/auth/v1/jwks.json answers) and,
// on error, the config key the problem is at.
func openCatalog(cfg *config.Config, o Options, reg prometheus.Registerer) (catalog.Catalog, *identity.PluginKeys, string, error) {
	keys := identity.NewPluginKeys(identity.PluginKeysOptions{Now: o.Now})
	if cfg.CatalogSource.Source != config.CatalogSourceBackstage {
		var targets []string
		for _, l := range cfg.Catalog.Locations {
			if l.Type == "file" {
				targets = append(targets, l.Target)
			}
		}
		cat, err := catalog.LoadFileCatalog(targets)
		if err != nil {
			return nil, keys, "catalog.locations", err
		}
		return cat, keys, "", nil
	}
	var creds catalog.ServiceCredentials = keys
	if cfg.CatalogSource.Credentials == config.CatalogCredentialsStatic {
		ea, ok := cfg.StaticToken()
		if !ok {
			return nil, keys, "backend.auth.externalAccess", fmt.Errorf("gatehouse.catalog.credentials is static but no static token is configured")
		}
		creds = catalog.StaticToken(ea.Token)
	}
	base := cfg.InternalBaseURL("catalog")
	cat, err := catalog.NewBackstageCatalog(catalog.BackstageConfig{
		BaseURL:     base,
		Credentials: creds,
		Timeout:     cfg.CatalogSource.Timeout,
		CacheTTL:    cfg.CatalogSource.CacheTTL,
		Registerer:  reg,
		Now:         o.Now,
	})
	if err != nil {
		return nil, keys, "discovery.endpoints", err
	}
	return cat, keys, "", nil
}
