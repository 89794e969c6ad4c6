package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Module is a loaded module: its current pool, swapped atomically on
// reload. It is safe for concurrent use.
type Module struct {
	h      *Host
	cfg    ModuleConfig
	config []byte
	log    *slog.Logger
	cur    atomic.Pointer[pool]
	// reloadMu serialises reloads.
	reloadMu sync.Mutex
	closed   atomic.Bool
}

// Load reads, checks (pin, exports, imports) and compiles the module, and
// warms its pool. Every error names the module.
func (h *Host) Load(ctx context.Context, cfg ModuleConfig) (*Module, error) {
	cfg.defaults()
	conf := []byte("{}")
	if cfg.Config != nil {
		b, err := json.Marshal(cfg.Config)
		if err != nil {
			return nil, fmt.Errorf("module %q: config is not JSON-encodable: %v", cfg.Name, err)
		}
		conf = b
	}
	if len(conf) > MaxConfigBytes {
		return nil, fmt.Errorf("module %q: config is %d bytes, over the %d-byte limit", cfg.Name, len(conf), MaxConfigBytes)
	}
	m := &Module{h: h, cfg: cfg, config: conf, log: h.log}
	p, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	m.cur.Store(p)
	return m, nil
}

func (m *Module) open(ctx context.Context) (*pool, error) {
	b, digest, err := readModule(m.cfg)
	if err != nil {
		return nil, err
	}
	c, err := m.h.compile(ctx, m.cfg, b, digest)
	if err != nil {
		return nil, err
	}
	m.h.cfg.Metrics.compiled(m.cfg.Name, c.compileIn)
	p, err := newPool(ctx, m.h, c, m.cfg, m.log, m.h.cfg.Metrics)
	if err != nil {
		m.h.release(ctx, c)
		return nil, err
	}
	return p, nil
}

// Name is the module's configured name.
func (m *Module) Name() string { return m.cfg.Name }

// Digest is the hex sha256 of the file now serving.
func (m *Module) Digest() string { return m.cur.Load().c.digest }

// HasResolver and HasTransform say which kinds the serving file offers.
func (m *Module) HasResolver() bool  { return m.cur.Load().c.resolve }
func (m *Module) HasTransform() bool { return m.cur.Load().c.transform }

// Reload compiles the file again and, when it loads, swaps the pool in
// atomically, then drains and closes the old one in the background. On any
// error the old pool keeps serving and the error is returned. A file whose
// digest did not change is not reloaded.
func (m *Module) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if m.closed.Load() {
		return fmt.Errorf("module %q is closed", m.cfg.Name)
	}
	old := m.cur.Load()
	if _, digest, err := readModule(m.cfg); err == nil && digest == old.c.digest {
		return nil
	}
	p, err := m.open(ctx)
	if err != nil {
		m.h.cfg.Metrics.reloaded(m.cfg.Name, false)
		m.log.Error("wasm module reload failed; the previous version keeps serving", "module", m.cfg.Name, "error", err)
		return err
	}
	if (old.c.resolve && !p.c.resolve) || (old.c.transform && !p.c.transform) {
		p.retire()
		go m.closeWhenDrained(p)
		err := fmt.Errorf("module %q: the new file drops an export the old one had (resolve %v -> %v, transform %v -> %v)", m.cfg.Name, old.c.resolve, p.c.resolve, old.c.transform, p.c.transform)
		m.h.cfg.Metrics.reloaded(m.cfg.Name, false)
		m.log.Error("wasm module reload refused; the previous version keeps serving", "module", m.cfg.Name, "error", err)
		return err
	}
	m.cur.Store(p)
	old.retire()
	go m.closeWhenDrained(old)
	m.h.cfg.Metrics.reloaded(m.cfg.Name, true)
	m.log.Info("wasm module reloaded", "module", m.cfg.Name, "sha256", p.c.digest)
	return nil
}

func (m *Module) closeWhenDrained(p *pool) {
	<-p.drained
	m.h.release(context.Background(), p.c)
}

// Close retires the pool; in-flight calls finish first.
func (m *Module) Close() {
	if m.closed.Swap(true) {
		return
	}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	p := m.cur.Load()
	p.retire()
	go m.closeWhenDrained(p)
}

// Outcome labels for metrics.
const (
	outcomeOK       = "ok"
	outcomeNotFound = "not_found"
	outcomeError    = "error"
	outcomeFailed   = "failed" // trap, timeout, ABI violation
)

// invoke makes one call of export with input and returns the status and
// output. Any trap, timeout or ABI violation is an error, and the instance
// is discarded.
func (m *Module) invoke(ctx context.Context, export string, input []byte, cat catalog.Catalog) (uint32, []byte, error) {
	if len(input) > MaxInputBytes {
		return 0, nil, fmt.Errorf("module %q: input is %d bytes, over the %d-byte limit", m.cfg.Name, len(input), MaxInputBytes)
	}
	st := &callState{module: m.cfg.Name, input: input, config: m.config, catalog: cat, log: m.log}
	var p *pool
	var inst *instance
	for {
		if m.closed.Load() {
			return 0, nil, fmt.Errorf("module %q is closed", m.cfg.Name)
		}
		p = m.cur.Load()
		var err error
		inst, err = p.acquire(ctx, m.cfg.Timeout+DefaultInstantiateLimit)
		if errors.Is(err, errRetired) {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		break
	}
	fn := inst.fn(export)
	if fn == nil {
		p.release(inst)
		return 0, nil, fmt.Errorf("module %q has no export %q", m.cfg.Name, export)
	}
	su := &stackUse{}
	cctx, cancel := context.WithTimeout(withStackUse(context.WithValue(ctx, stateKey{}, st), su), m.cfg.Timeout)
	inst.stack[0] = uint64(len(input))
	start := time.Now()
	err := fn.CallWithStack(cctx, inst.stack)
	elapsed := time.Since(start)
	deadline := cctx.Err() != nil
	cancel()
	if err != nil {
		p.discard(inst)
		var out error
		switch {
		case su.exceeded:
			out = fmt.Errorf("module %q: %v", m.cfg.Name, errCallStack)
		case st.violation != nil:
			out = fmt.Errorf("module %q broke the ABI: %v", m.cfg.Name, st.violation)
		case deadline && ctx.Err() == nil:
			out = fmt.Errorf("module %q: call timed out after %s", m.cfg.Name, m.cfg.Timeout)
		case ctx.Err() != nil:
			out = fmt.Errorf("module %q: call canceled: %w", m.cfg.Name, ctx.Err())
		default:
			out = fmt.Errorf("module %q trapped: %s", m.cfg.Name, firstLine(err))
		}
		m.h.cfg.Metrics.called(m.cfg.Name, export, outcomeFailed, elapsed)
		m.log.Warn("wasm call failed; instance discarded", "module", m.cfg.Name, "export", export, "error", out)
		return 0, nil, out
	}
	status := uint32(inst.stack[0])
	inst.calls++
	if inst.calls >= p.recycle || inst.mod.Memory().Size() > p.memMark {
		p.discard(inst)
	} else {
		p.release(inst)
	}
	var out []byte
	if st.wrote {
		out = bytes.Clone(st.output)
	}
	m.h.cfg.Metrics.called(m.cfg.Name, export, statusOutcome(status), elapsed)
	return status, out, nil
}

func statusOutcome(s uint32) string {
	switch s {
	case StatusOK:
		return outcomeOK
	case StatusNotFound:
		return outcomeNotFound
	case StatusError:
		return outcomeError
	}
	return outcomeFailed
}

// Payloads (wasm-sdk/ABI.md, "Payloads").
type (
	resolveInput struct {
		ABI           int               `json:"abi"`
		Kind          string            `json:"kind"`
		Module        string            `json:"module"`
		Provider      string            `json:"provider"`
		Profile       providers.Profile `json:"profile"`
		IDTokenClaims map[string]any    `json:"idTokenClaims"`
		UserInfo      map[string]any    `json:"userinfo"`
		Options       map[string]any    `json:"options"`
		Config        json.RawMessage   `json:"config"`
	}
	checkInput struct {
		ABI     int             `json:"abi"`
		Kind    string          `json:"kind"`
		Module  string          `json:"module"`
		Options map[string]any  `json:"options"`
		Config  json.RawMessage `json:"config"`
	}
	resolveOK struct {
		EntityRef           string         `json:"entityRef"`
		OwnershipEntityRefs []string       `json:"ownershipEntityRefs"`
		Claims              map[string]any `json:"claims"`
	}
	transformOK struct {
		Profile *providers.Profile `json:"profile"`
	}
	statusMessage struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	}
)

// maxProfileField bounds each profile field a transform returns.
const maxProfileField = 8 << 10

// Payload kinds.
const (
	kindSignInResolver   = "signInResolver"
	kindProfileTransform = "profileTransform"
)

// guestErrorNames are the error names a guest may return with status
// error; any other name becomes a plain Error.
var guestErrorNames = map[string]bool{
	autherr.NameError: true, autherr.NameNotAllowed: true, autherr.NameConflict: true,
	autherr.NameInput: true, autherr.NameAuthentication: true,
}

// statusError turns a not_found/error payload into an autherr.
func (m *Module) statusError(status uint32, out []byte, what string) error {
	var sm statusMessage
	if len(out) > 0 {
		if err := decodeGuest(out, &sm); err != nil {
			return fmt.Errorf("module %q returned an invalid %s message: %v", m.cfg.Name, what, err)
		}
	}
	msg := sanitize(sm.Message, 1024)
	if status == StatusNotFound {
		if msg == "" {
			msg = "User not found"
		}
		return autherr.NotFound("%s", msg)
	}
	if msg == "" {
		msg = fmt.Sprintf("%s '%s' failed", what, m.cfg.Name)
	}
	name := sm.Name
	if !guestErrorNames[name] {
		name = autherr.NameError
	}
	return &autherr.Error{Name: name, Message: msg}
}

// check runs authplug_check on a step's options. A module without the
// export accepts no options. Every error starts with the module's config
// key (gatehouse.modules.<name>), so a guest's message cannot pass for
// another module's.
func (m *Module) check(ctx context.Context, kind string, options map[string]any) error {
	if err := m.runCheck(ctx, kind, options); err != nil {
		return fmt.Errorf("gatehouse.modules.%s: %w", m.cfg.Name, err)
	}
	return nil
}

func (m *Module) runCheck(ctx context.Context, kind string, options map[string]any) error {
	p := m.cur.Load()
	if !p.c.check {
		if len(options) > 0 {
			return fmt.Errorf("module %q does not accept options (it has no %s export)", m.cfg.Name, ExportCheck)
		}
		return nil
	}
	in, err := json.Marshal(checkInput{ABI: 1, Kind: kind, Module: m.cfg.Name, Options: options, Config: m.config})
	if err != nil {
		return fmt.Errorf("options are not JSON-encodable: %v", err)
	}
	status, out, err := m.invoke(ctx, ExportCheck, in, nil)
	if err != nil {
		return err
	}
	switch status {
	case StatusOK:
		return nil
	case StatusError:
		return m.statusError(status, out, "options check of module")
	}
	return fmt.Errorf("%s returned unknown status %d", ExportCheck, status)
}

// Resolver is a sign-in resolver backed by a module.
type Resolver struct {
	m       *Module
	options map[string]any
	cat     catalog.Catalog
}

var _ resolvers.SignInResolver = (*Resolver)(nil)

// Transform is a profile transform backed by a module.
type Transform struct {
	m       *Module
	options map[string]any
}

var _ resolvers.ProfileTransform = (*Transform)(nil)

func (m *Module) wrongKind(export, what string) error {
	if m.cfg.Kind != "" {
		return fmt.Errorf("module %q is declared kind %q: it is not %s", m.cfg.Name, m.cfg.Kind, what)
	}
	return fmt.Errorf("module %q has no %s export: it is not %s", m.cfg.Name, export, what)
}

// ResolverFactory opens the module as a sign-in resolver: the step's
// options are checked by the guest's authplug_check at start-up.
func (m *Module) ResolverFactory() resolvers.ResolverFactory {
	return func(options map[string]any, deps resolvers.Deps) (resolvers.SignInResolver, error) {
		if !m.HasResolver() {
			return nil, m.wrongKind(ExportResolve, "a sign-in resolver")
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Timeout+DefaultInstantiateLimit)
		defer cancel()
		if err := m.check(ctx, kindSignInResolver, options); err != nil {
			return nil, err
		}
		return &Resolver{m: m, options: options, cat: deps.Catalog}, nil
	}
}

// TransformFactory opens the module as a profile transform.
func (m *Module) TransformFactory() resolvers.TransformFactory {
	return func(options map[string]any) (resolvers.ProfileTransform, error) {
		if !m.HasTransform() {
			return nil, m.wrongKind(ExportTransform, "a profile transform")
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Timeout+DefaultInstantiateLimit)
		defer cancel()
		if err := m.check(ctx, kindProfileTransform, options); err != nil {
			return nil, err
		}
		return &Transform{m: m, options: options}, nil
	}
}

func input(kind, module, provider string, profile providers.Profile, res *providers.Result, options map[string]any, config []byte) ([]byte, error) {
	in := resolveInput{ABI: 1, Kind: kind, Module: module, Provider: provider, Profile: profile, Options: options, Config: config}
	if res != nil {
		in.IDTokenClaims, in.UserInfo = res.IDTokenClaims, res.UserInfo
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("module %q: the sign-in input is not JSON-encodable: %v", module, err)
	}
	return b, nil
}

// Resolve implements resolvers.SignInResolver. not_found is an autherr
// NotFound (the chain tries the next resolver); error is the guest's named
// error; a trap, timeout, bad output or unknown status fails the sign-in.
func (r *Resolver) Resolve(ctx context.Context, in resolvers.SignInInput) (*resolvers.SignInResult, error) {
	b, err := input(kindSignInResolver, r.m.cfg.Name, in.ProviderID, in.Profile, in.Result, r.options, r.m.config)
	if err != nil {
		return nil, err
	}
	status, out, err := r.m.invoke(ctx, ExportResolve, b, r.cat)
	if err != nil {
		return nil, err
	}
	switch status {
	case StatusOK:
		var ok resolveOK
		if err := decodeGuest(out, &ok); err != nil {
			return nil, fmt.Errorf("module %q returned an invalid result: %v", r.m.cfg.Name, err)
		}
		if ok.EntityRef == "" {
			return nil, fmt.Errorf("module %q returned status ok without an entityRef", r.m.cfg.Name)
		}
		if _, err := catalog.ParseEntityRef(ok.EntityRef, "user", "default"); err != nil {
			return nil, fmt.Errorf("module %q returned an invalid entityRef: %v", r.m.cfg.Name, err)
		}
		return &resolvers.SignInResult{UserEntityRef: ok.EntityRef, OwnershipEntityRefs: ok.OwnershipEntityRefs, ExtraClaims: ok.Claims}, nil
	case StatusNotFound, StatusError:
		return nil, r.m.statusError(status, out, "sign-in resolver")
	}
	return nil, fmt.Errorf("module %q returned unknown status %d; failing the sign-in", r.m.cfg.Name, status)
}

// Transform implements resolvers.ProfileTransform: the guest returns the
// whole profile, which replaces the previous one.
func (t *Transform) Transform(ctx context.Context, in resolvers.TransformInput) (providers.Profile, error) {
	b, err := input(kindProfileTransform, t.m.cfg.Name, in.ProviderID, in.Profile, in.Result, t.options, t.m.config)
	if err != nil {
		return providers.Profile{}, err
	}
	status, out, err := t.m.invoke(ctx, ExportTransform, b, nil)
	if err != nil {
		return providers.Profile{}, err
	}
	switch status {
	case StatusOK:
		var ok transformOK
		if err := decodeGuest(out, &ok); err != nil {
			return providers.Profile{}, fmt.Errorf("module %q returned an invalid profile: %v", t.m.cfg.Name, err)
		}
		if ok.Profile == nil {
			return providers.Profile{}, fmt.Errorf("module %q returned status ok without a profile", t.m.cfg.Name)
		}
		for field, v := range map[string]string{"email": ok.Profile.Email, "displayName": ok.Profile.DisplayName, "picture": ok.Profile.Picture} {
			if len(v) > maxProfileField {
				return providers.Profile{}, fmt.Errorf("module %q returned a profile %s of %d bytes, over the %d-byte limit", t.m.cfg.Name, field, len(v), maxProfileField)
			}
		}
		return *ok.Profile, nil
	case StatusError:
		return providers.Profile{}, t.m.statusError(status, out, "profile transform")
	}
	return providers.Profile{}, fmt.Errorf("module %q returned unknown status %d; failing the sign-in", t.m.cfg.Name, status)
}
