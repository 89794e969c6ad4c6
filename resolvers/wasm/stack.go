package wasm

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// MaxCallStackBytes bounds a call's WebAssembly call stack, as the sum of
// the frame estimates of the functions active at once (frameEstimate).
//
// wazero's compiler keeps a call's stack in a Go slice that doubles as it
// fills, up to a fixed ceiling of ~84 MB (plus the half-size copy while
// growing): one runaway recursion cost ~130 MB of RSS and a few in
// parallel could OOM the server, and wazero offers no setting for it. The
// host therefore counts frames itself (a function listener on every guest
// function) and aborts the call past this bound, long before wazero's
// ceiling: the stack a call can grow is then a few MiB.
const MaxCallStackBytes = 1 << 20

// valueTypeV128 is the binary encoding of v128 (api has no constant for it).
const valueTypeV128 api.ValueType = 0x7b

// frameOverhead is a frame's fixed cost in the estimate: return address,
// frame pointer, saved registers.
const frameOverhead = 32

// frameEstimate is the stack a call of a function with this many
// parameters, results and locals is counted for: each value 8 bytes (a
// v128 counts 16), plus frameOverhead.
func frameEstimate(params, results []api.ValueType, locals uint64) int64 {
	locals = min(locals, MaxCallStackBytes/8)
	n := uint64(frameOverhead) + 8*locals
	for _, t := range append(append([]api.ValueType(nil), params...), results...) {
		n += 8
		if t == valueTypeV128 {
			n += 8
		}
	}
	if n > MaxCallStackBytes+1 {
		n = MaxCallStackBytes + 1
	}
	return int64(n)
}

// stackUse is one call's (or one instantiation's) stack account; the
// listener finds it in the call's context.
type stackUse struct {
	used, peak int64
	exceeded   bool
}

type stackKey struct{}

func withStackUse(ctx context.Context, u *stackUse) context.Context {
	return context.WithValue(ctx, stackKey{}, u)
}

// errCallStack is what a call past MaxCallStackBytes fails with.
var errCallStack = fmt.Errorf("call stack over the %d KiB limit (runaway recursion?)", MaxCallStackBytes>>10)

// stackListener adds its function's frame estimate on entry and takes it
// off on return; past the limit it panics, which wazero turns into the
// call's error (and the instance is discarded).
type stackListener struct{ frame int64 }

func (l stackListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	u, _ := ctx.Value(stackKey{}).(*stackUse)
	if u == nil {
		return
	}
	u.used += l.frame
	if u.used > u.peak {
		u.peak = u.used
	}
	if u.used > MaxCallStackBytes {
		u.exceeded = true
		panic(errCallStack)
	}
}

func (l stackListener) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64) {
	if u, _ := ctx.Value(stackKey{}).(*stackUse); u != nil {
		u.used -= l.frame
	}
}

func (l stackListener) Abort(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ error) {
	if u, _ := ctx.Value(stackKey{}).(*stackUse); u != nil {
		u.used -= l.frame
	}
}

// stackListeners is the listener factory for one module binary: it knows
// each function's number of locals from the code section.
type stackListeners struct {
	imports uint32   // imported functions, which come first in the index space
	locals  []uint64 // per defined function
}

func (f *stackListeners) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	var locals uint64
	if i := def.Index(); i >= f.imports && int(i-f.imports) < len(f.locals) {
		locals = f.locals[i-f.imports]
	}
	return stackListener{frame: frameEstimate(def.ParamTypes(), def.ResultTypes(), locals)}
}

// newStackListeners reads the import and code sections of a module binary.
func newStackListeners(b []byte) (*stackListeners, error) {
	r := &wasmReader{b: b}
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly binary")
	}
	r.pos = 8
	f := &stackListeners{}
	for r.pos < len(r.b) {
		id := r.byte()
		size := r.uleb()
		end := r.pos + int(size)
		if r.err != nil || end > len(r.b) || end < r.pos {
			return nil, errors.New("truncated section")
		}
		sec := &wasmReader{b: r.b[:end], pos: r.pos}
		switch id {
		case 2: // imports
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				sec.skip(int(sec.uleb())) // module
				sec.skip(int(sec.uleb())) // name
				switch sec.byte() {
				case 0: // func: type index
					sec.uleb()
					f.imports++
				case 1: // table: reftype, limits
					sec.byte()
					sec.limits()
				case 2: // memory
					sec.limits()
				case 3: // global: valtype, mutability
					sec.byte()
					sec.byte()
				case 4: // tag: attribute, type index
					sec.byte()
					sec.uleb()
				default:
					return nil, errors.New("unknown import kind")
				}
			}
		case 10: // code
			n := sec.uleb()
			if sec.err == nil && int(n) > len(sec.b) {
				return nil, errors.New("code section count is larger than the section")
			}
			for ; n > 0 && sec.err == nil; n-- {
				bodySize := int(sec.uleb())
				bodyEnd := sec.pos + bodySize
				var locals uint64
				for groups := sec.uleb(); groups > 0 && sec.err == nil; groups-- {
					locals += uint64(sec.uleb())
					sec.byte()
				}
				f.locals = append(f.locals, locals)
				if bodyEnd < sec.pos || bodyEnd > len(sec.b) {
					return nil, errors.New("truncated function body")
				}
				sec.pos = bodyEnd
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
		r.pos = end
	}
	return f, nil
}

// wasmReader decodes the few WebAssembly binary encodings the stack
// accounting needs; the first error sticks.
type wasmReader struct {
	b   []byte
	pos int
	err error
}

var errTruncated = errors.New("truncated module")

func (r *wasmReader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// uleb reads an unsigned LEB128 (up to 64 bits, for memory64 limits).
func (r *wasmReader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("LEB128 too long")
	return 0
}

func (r *wasmReader) skip(n int) {
	if r.err != nil || n < 0 || n > len(r.b)-r.pos {
		r.err = errTruncated
		return
	}
	r.pos += n
}

func (r *wasmReader) limits() {
	flags := r.byte()
	r.uleb()
	if flags&1 != 0 {
		r.uleb()
	}
}
