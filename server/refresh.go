package server

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/sealbox"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// DefaultRefreshGracePeriod is how long the IdP's answer to a refresh stays
// usable by the other holders of the refresh token it spent, unless
// Options.RefreshGracePeriod says otherwise.
const DefaultRefreshGracePeriod = 30 * time.Second

const (
	// refreshClaimTTL is how long a replica's claim on a refresh token
	// holds before another may take over, should the claimer die between
	// its claim and its answer. It outlasts any IdP call a client waits for.
	refreshClaimTTL = 30 * time.Second
	// refreshFlightLimit bounds the one IdP call a flight makes: it runs on
	// behalf of every waiting request, so no single caller's cancellation
	// ends it, but it may not run forever.
	refreshFlightLimit = 60 * time.Second
	// refreshPollMax is the longest pause between two looks at another
	// replica's pending claim.
	refreshPollMax = 200 * time.Millisecond
)

// refreshes shares one IdP refresh among the concurrent /refresh requests
// that carry the same refresh token, which a rotating IdP accepts only
// once (backstage#31266, #12917):
//   - within this process, a single-flight per token hash;
//   - across replicas, a RefreshGraceStore: one request claims the token,
//     calls the IdP and records the sealed answer for the grace period;
//     the others use that answer.
//
// Every request still runs its own transforms, resolvers and token issuance.
type refreshes struct {
	flight  flight
	store   identity.RefreshGraceStore // nil: single-flight only
	grace   time.Duration
	aead    cipher.AEAD
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics.Metrics
	// fixed remembers the provider environments whose IdP answered a
	// refresh without rotating the token: their tokens may be spent any
	// number of times, so the store is not consulted.
	fixed sync.Map // "id\x00env" → true
	// joined, when set (tests), runs once a request has joined its
	// token's flight, as leader or follower.
	joined func()
}

// graceRecord is the sealed plaintext of a recorded answer.
type graceRecord struct {
	// At is when the IdP answered (Unix ms), so that a replay can count
	// down expiresInSeconds.
	At     int64             `json:"at"`
	Result *providers.Result `json:"r"`
}

// newRefreshes derives the record key from the session secret with its own
// HKDF label, so it is independent of the transaction cookie's key.
func newRefreshes(secret string, o Options) (*refreshes, error) {
	aead, err := sealbox.Derive(secret, "gatehouse refresh grace record v1")
	if err != nil {
		return nil, err
	}
	grace := o.RefreshGracePeriod
	if grace == 0 {
		grace = DefaultRefreshGracePeriod
	}
	store := o.RefreshGrace
	if store == nil {
		store = identity.NewMemoryRefreshGraceStore()
	}
	if grace < 0 {
		store = nil
	}
	return &refreshes{store: store, grace: grace, aead: aead, now: o.Now, log: o.Logger, metrics: o.Metrics}, nil
}

// refreshKey names a refresh token in the flight and the store: the
// provider and environment, and the SHA-256 of the token, never the token.
func refreshKey(rt *envRuntime, token string) string {
	sum := sha256.Sum256([]byte(token))
	return rt.id + "/" + rt.env + "/" + hex.EncodeToString(sum[:])
}

type refreshAnswer struct {
	result *providers.Result
	how    string // "" (this request's own IdP call) or metrics.SharedRecord
}

// refresh answers req with the IdP's answer for its refresh token, calling
// the IdP at most once per token across the concurrent callers.
func (g *refreshes) refresh(ctx context.Context, rt *envRuntime, refresher providers.Refresher, req providers.RefreshRequest) (*providers.Result, error) {
	key := refreshKey(rt, req.RefreshToken)
	c, led := g.flight.join(key)
	if g.joined != nil {
		g.joined()
	}
	if led {
		g.lead(ctx, rt, refresher, req, key, c)
	} else {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, autherr.Wrap(autherr.NameServiceUnavailable, "The refresh was abandoned while another request refreshed the same session", ctx.Err())
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	switch {
	case !led:
		g.metrics.RefreshShared(rt.id, metrics.SharedFlight)
	case c.val.how != "":
		g.metrics.RefreshShared(rt.id, c.val.how)
	}
	return c.val.result, nil
}

// lead makes the flight's one call on the leader's own goroutine, whose
// stack has already grown for the request, rather than on a new one (as
// singleflight.DoChan did, for a goroutine, a stack grown again and a
// hand-off per refresh). It runs on behalf of every waiting request, so no
// single caller's cancellation ends it, but it may not run forever; the
// leader waits for it even if its own client has gone.
func (g *refreshes) lead(ctx context.Context, rt *envRuntime, refresher providers.Refresher, req providers.RefreshRequest, key string, c *flightCall) {
	returned := false
	defer func() {
		if !returned {
			c.err = errFlightPanicked // the panic goes on up the leader's stack
		}
		g.flight.finish(key, c)
	}()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshFlightLimit)
	defer cancel()
	c.val, c.err = g.acrossReplicas(fctx, rt, refresher, req, key)
	returned = true
}

// flight tracks the call in progress for each key. The first caller of a
// key leads (runs the call); later ones follow (wait for its answer).
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

// flightCall is one call and, once done is closed, its answer.
type flightCall struct {
	done chan struct{}
	val  refreshAnswer
	err  error
}

// errFlightPanicked answers the followers of a call whose leader panicked.
var errFlightPanicked = errors.New("the refresh that this request waited for failed unexpectedly")

// join returns key's call in progress, or a new one that the caller leads.
func (f *flight) join(key string) (c *flightCall, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.calls[key]; ok {
		return c, false
	}
	if f.calls == nil {
		f.calls = map[string]*flightCall{}
	}
	c = &flightCall{done: make(chan struct{})}
	f.calls[key] = c
	return c, true
}

// finish ends c: later callers of key start a new call, and c's followers
// get its answer.
func (f *flight) finish(key string, c *flightCall) {
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	close(c.done)
}

// acrossReplicas is the one call of a flight: it uses a recorded answer,
// or claims the token and calls the IdP, or waits for the replica that
// claimed it. A store that fails is logged and bypassed: the request then
// calls the IdP as it would without one.
func (g *refreshes) acrossReplicas(ctx context.Context, rt *envRuntime, refresher providers.Refresher, req providers.RefreshRequest, key string) (refreshAnswer, error) {
	envKey := rt.id + "\x00" + rt.env
	if _, fixed := g.fixed.Load(envKey); fixed || g.store == nil {
		return g.call(ctx, rt, refresher, req, key, false)
	}
	// Claim first: a lone refresh (the common case) wins at once and pays
	// one statement before its IdP call.
	got, err := identity.ClaimOrAwaitRefresh(ctx, g.store, key, g.now, refreshClaimTTL, refreshPollMax, true)
	switch {
	case err != nil && ctx.Err() != nil:
		return refreshAnswer{}, autherr.Wrap(autherr.NameServiceUnavailable, "Timed out waiting for another replica's refresh of the same session", ctx.Err())
	case err != nil:
		g.storeFailed(ctx, rt, err)
		return g.call(ctx, rt, refresher, req, key, false)
	case got.Won:
		return g.call(ctx, rt, refresher, req, key, true)
	}
	r, err := g.open(key, got.Answer)
	if err != nil {
		// Sealed under another auth.session.secret, most likely
		// mid-rotation: the IdP decides, as it would without a record.
		g.storeFailed(ctx, rt, err)
		return g.call(ctx, rt, refresher, req, key, false)
	}
	return refreshAnswer{result: r, how: metrics.SharedRecord}, nil
}

// call makes the IdP call. With claimed, it records a rotated answer for
// the grace period, or releases the claim.
func (g *refreshes) call(ctx context.Context, rt *envRuntime, refresher providers.Refresher, req providers.RefreshRequest, key string, claimed bool) (refreshAnswer, error) {
	r, err := refresher.Refresh(ctx, req)
	if err != nil {
		if claimed {
			if rerr := g.store.ReleaseRefresh(ctx, key); rerr != nil {
				g.storeFailed(ctx, rt, rerr)
			}
		}
		return refreshAnswer{}, atStage(stageIdP, err)
	}
	if !rt.RefreshTokenRotated(r, req.RefreshToken) {
		g.fixed.Store(rt.id+"\x00"+rt.env, true)
		if claimed {
			if err := g.store.ReleaseRefresh(ctx, key); err != nil {
				g.storeFailed(ctx, rt, err)
			}
		}
		return refreshAnswer{result: r}, nil
	}
	if claimed {
		now := g.now()
		sealed, err := g.seal(key, graceRecord{At: now.UnixMilli(), Result: r})
		if err == nil {
			err = g.store.PutRefresh(ctx, key, sealed, now.Add(g.grace))
		}
		if err != nil {
			// This flight's requests are answered; other replicas' holders
			// of the old token meet the IdP's refusal, as without a store.
			g.storeFailed(ctx, rt, err)
		}
	}
	return refreshAnswer{result: r}, nil
}

func (g *refreshes) storeFailed(ctx context.Context, rt *envRuntime, err error) {
	g.log.LogAttrs(ctx, levelWarn, "refresh grace record unavailable; the IdP is asked directly", providerAttr(rt), errorAttr(err))
}

// seal is AES-256-GCM over the record's JSON, with the key as additional
// data: a record moved to another token's row does not open.
func (g *refreshes) seal(key string, rec graceRecord) ([]byte, error) {
	plain, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return sealbox.Seal(g.aead, plain, []byte(key))
}

// open unseals a record and counts expiresInSeconds down by the time since
// the IdP answered.
func (g *refreshes) open(key string, sealed []byte) (*providers.Result, error) {
	plain, err := sealbox.Open(g.aead, sealed, []byte(key))
	if errors.Is(err, sealbox.ErrMalformed) {
		return nil, errors.New("refresh grace record is truncated")
	}
	if err != nil {
		return nil, errors.New("refresh grace record failed its integrity check (sealed with another auth.session.secret?)")
	}
	var rec graceRecord
	if err := json.Unmarshal(plain, &rec); err != nil || rec.Result == nil {
		return nil, errors.New("refresh grace record is malformed")
	}
	if exp := rec.Result.Session.ExpiresInSeconds; exp > 0 {
		elapsed := g.now().Sub(time.UnixMilli(rec.At)) / time.Second
		rec.Result.Session.ExpiresInSeconds = max(1, exp-int64(elapsed))
	}
	return rec.Result, nil
}
