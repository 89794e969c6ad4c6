package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

var i64 = api.ValueTypeI64

// hostSigs are the authplug imports the host offers, with their signatures.
var hostSigs = map[string]exportSig{
	"input_read":   {params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}},
	"output_write": {params: []api.ValueType{i32, i32}},
	"config_read":  {params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}},
	"log":          {params: []api.ValueType{i32, i32, i32}},
	"catalog_find": {params: []api.ValueType{i32, i32, i32, i32}, results: []api.ValueType{i64}},
}

func hostNames() []string {
	names := make([]string, 0, len(hostSigs))
	for n := range hostSigs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// catalog_find error codes (negative results).
const (
	catalogBadQuery = -1
	catalogQuota    = -2
	catalogBackend  = -3
	catalogTimeout  = -4
)

type stateKey struct{}

// callState is one invocation's host-side state; host functions find it
// in the call's context, so instances carry nothing between calls.
type callState struct {
	module   string
	input    []byte
	config   []byte
	output   []byte
	wrote    bool
	catalog  catalog.Catalog
	log      *slog.Logger
	logLines int
	logBytes int
	finds    int
	// lastQuery/lastResult serve the retry after a too-small buffer.
	lastQuery  string
	lastResult []byte
	// violation is set when the guest broke the ABI; the call fails with it.
	violation error
}

// abiViolation is panicked by host functions; wazero turns the panic into
// the Call's error and the instance is discarded. It is an error so that
// wazero prints its text (a struct would print as a Go pointer).
type abiViolation struct{ err error }

func (a abiViolation) Error() string { return a.err.Error() }

func (st *callState) fail(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	st.violation = err
	panic(abiViolation{err})
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

func read(st *callState, m api.Module, ptr, n uint32, what string) []byte {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		st.fail("%s: pointer %d length %d is outside the guest's memory (%d bytes)", what, ptr, n, m.Memory().Size())
	}
	return b
}

func write(st *callState, m api.Module, ptr uint32, b []byte, what string) {
	if !m.Memory().Write(ptr, b) {
		st.fail("%s: pointer %d length %d is outside the guest's memory (%d bytes)", what, ptr, len(b), m.Memory().Size())
	}
}

// copyOut implements the "copy min(cap, len) and return len" contract.
func copyOut(st *callState, m api.Module, buf, capacity uint32, src []byte, what string) uint32 {
	n := uint32(len(src))
	if capacity > n {
		capacity = n
	}
	if capacity > 0 {
		write(st, m, buf, src[:capacity], what)
	}
	return n
}

func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(ImportModule)
	fn := func(name string, f api.GoModuleFunc) {
		s := hostSigs[name]
		b.NewFunctionBuilder().WithGoModuleFunction(f, s.params, s.results).Export(name)
	}
	fn("input_read", func(ctx context.Context, m api.Module, stack []uint64) {
		st := mustState(ctx, "input_read")
		stack[0] = uint64(copyOut(st, m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), st.input, "input_read"))
	})
	fn("config_read", func(ctx context.Context, m api.Module, stack []uint64) {
		st := mustState(ctx, "config_read")
		stack[0] = uint64(copyOut(st, m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), st.config, "config_read"))
	})
	fn("output_write", func(ctx context.Context, m api.Module, stack []uint64) {
		st := mustState(ctx, "output_write")
		ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		if n > MaxOutputBytes {
			st.fail("output_write: %d bytes is over the %d-byte output limit", n, MaxOutputBytes)
		}
		st.output = append(st.output[:0], read(st, m, ptr, n, "output_write")...)
		st.wrote = true
	})
	fn("log", func(ctx context.Context, m api.Module, stack []uint64) {
		st := mustState(ctx, "log")
		level, ptr, n := int32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
		if st.logLines >= MaxLogLines || st.logBytes >= MaxLogBytes {
			st.logLines++
			return
		}
		if rest := uint32(MaxLogBytes - st.logBytes); n > rest {
			n = rest
		}
		msg := sanitize(string(read(st, m, ptr, n, "log")), 1024)
		st.logLines++
		st.logBytes += int(n)
		st.log.Log(ctx, guestLevel(level), msg, "module", st.module)
	})
	fn("catalog_find", func(ctx context.Context, m api.Module, stack []uint64) {
		st := mustState(ctx, "catalog_find")
		qp, qn, out, outCap := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
		if qn > MaxConfigBytes {
			stack[0] = api.EncodeI64(catalogBadQuery)
			return
		}
		q := string(read(st, m, qp, qn, "catalog_find query"))
		var res []byte
		if q == st.lastQuery && st.lastResult != nil {
			res = st.lastResult
		} else {
			if st.finds >= MaxCatalogCalls {
				stack[0] = api.EncodeI64(catalogQuota)
				return
			}
			st.finds++
			var code int64
			res, code = catalogFind(ctx, st.catalog, []byte(q))
			if code < 0 {
				stack[0] = api.EncodeI64(code)
				return
			}
			st.lastQuery, st.lastResult = q, res
		}
		if uint32(len(res)) <= outCap {
			write(st, m, out, res, "catalog_find output")
		}
		stack[0] = api.EncodeI64(int64(len(res)))
	})
	_, err := b.Instantiate(ctx)
	return err
}

func mustState(ctx context.Context, name string) *callState {
	st := stateOf(ctx)
	if st == nil {
		// Only reachable if a guest calls an import from _initialize.
		panic(abiViolation{fmt.Errorf("%s called %s.%s; host functions are available only during a call of %s, %s or %s",
			ExportInit, ImportModule, name, ExportResolve, ExportTransform, ExportCheck)})
	}
	return st
}

func guestLevel(l int32) slog.Level {
	switch l {
	case 0:
		return slog.LevelDebug
	case 1:
		return slog.LevelInfo
	case 2:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// sanitize keeps guest text printable and short, so a guest cannot forge
// log lines or flood an error page.
func sanitize(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// catalogQuery is the catalog_find query JSON: exactly one of the fields.
type catalogQuery struct {
	EntityRef   string              `json:"entityRef,omitempty"`
	Filter      []map[string]string `json:"filter,omitempty"`
	Annotations map[string]string   `json:"annotations,omitempty"`
}

// catalogAnswer is the catalog_find result JSON.
type catalogAnswer struct {
	EntityRef           string          `json:"entityRef,omitempty"`
	OwnershipEntityRefs []string        `json:"ownershipEntityRefs,omitempty"`
	Entity              *catalog.Entity `json:"entity,omitempty"`
	Error               *guestError     `json:"error,omitempty"`
}

type guestError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// badQuery logs why catalog_find answered -1, so the module's author can
// see it; the guest only gets the code.
func badQuery(ctx context.Context, format string, args ...any) {
	if st := stateOf(ctx); st != nil {
		st.log.Warn("wasm guest sent a bad catalog query", "module", st.module, "error", fmt.Sprintf(format, args...))
	}
}

func catalogFind(ctx context.Context, cat catalog.Catalog, raw []byte) ([]byte, int64) {
	if err := ctx.Err(); err != nil {
		return nil, catalogTimeout
	}
	var q catalogQuery
	if err := decodeGuest(raw, &q); err != nil {
		badQuery(ctx, "catalog_find query: %v", err)
		return nil, catalogBadQuery
	}
	set := 0
	for _, b := range []bool{q.EntityRef != "", len(q.Filter) > 0, len(q.Annotations) > 0} {
		if b {
			set++
		}
	}
	if set != 1 {
		badQuery(ctx, "catalog_find query: want exactly one of entityRef, filter, annotations; got %d", set)
		return nil, catalogBadQuery
	}
	if cat == nil {
		return nil, catalogBackend
	}
	e, err := cat.FindUser(ctx, catalog.Query{EntityRef: q.EntityRef, Filter: q.Filter, Annotations: q.Annotations})
	var a catalogAnswer
	switch {
	case err == nil:
		a = catalogAnswer{EntityRef: catalog.RefOf(e), OwnershipEntityRefs: catalog.OwnershipEntityRefs(e), Entity: e}
	case ctx.Err() != nil:
		return nil, catalogTimeout
	default:
		var ae *autherr.Error
		if !errors.As(err, &ae) {
			return nil, catalogBackend
		}
		a.Error = &guestError{Name: ae.Name, Message: ae.Message}
	}
	b, err := json.Marshal(a)
	if err != nil || len(b) > MaxCatalogResultBytes {
		return nil, catalogBackend
	}
	return b, 0
}
