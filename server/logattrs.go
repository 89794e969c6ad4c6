package server

import (
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

const (
	levelInfo = slog.LevelInfo
	levelWarn = slog.LevelWarn
)

// levelFor logs expected rejections (bad input, unknown users) at info and
// everything else, which an operator must look at, at warn.
func levelFor(err error) slog.Level {
	switch autherr.NameOf(err) {
	case autherr.NameInput, autherr.NameNotAllowed, autherr.NameNotFound, autherr.NameConflict, autherr.NameAuthentication:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

func providerAttr(rt *envRuntime) slog.Attr {
	return slog.Group("provider", slog.String("id", rt.id), slog.String("env", rt.env))
}

// errorAttr logs the error's name and message. Messages are written by
// Gatehouse and name what was wrong, never a token or secret.
func errorAttr(err error) slog.Attr {
	return slog.Group("error", slog.String("name", autherr.NameOf(err)), slog.String("message", err.Error()))
}

func stringAttr(k, v string) slog.Attr { return slog.String(k, v) }

func identityClaims(res *resolvers.SignInResult) identity.Claims {
	ent := res.OwnershipEntityRefs
	if len(ent) == 0 {
		ent = []string{res.UserEntityRef}
	}
	return identity.Claims{Sub: res.UserEntityRef, Ent: ent, Extra: res.ExtraClaims}
}
