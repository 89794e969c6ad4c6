// Package builtin is the registry of the providers Gatehouse serves: the
// one list the config loader checks auth.providers against and the
// gateway opens providers from.
package builtin

import (
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
	"github.com/gatehouse-auth/gatehouse/providers/vcfsso"
	"github.com/gatehouse-auth/gatehouse/providers/vmwarecloud"
)

// Registry maps every provider id Gatehouse serves to its Kind.
var Registry = providers.Registry{
	"oidc":         oidc.Kind,
	vcfsso.ID:      vcfsso.Kind,
	vmwarecloud.ID: vmwarecloud.Kind,
}
