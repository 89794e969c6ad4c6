package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// instance is one instantiated module; it serves one call at a time.
type instance struct {
	mod       api.Module
	resolve   api.Function
	transform api.Function
	check     api.Function
	stack     []uint64
	calls     int
}

func (i *instance) fn(export string) api.Function {
	switch export {
	case ExportResolve:
		return i.resolve
	case ExportTransform:
		return i.transform
	default:
		return i.check
	}
}

// errRetired tells a caller that the pool was swapped out while it waited;
// it retries on the current pool.
var errRetired = errors.New("pool retired")

// pool is a bounded set of warm instances of one compiled module. One
// instance is created at load (it proves the module instantiates, so a
// broken _initialize fails the load); the others are created in the
// background when calls overlap, and after a discard, never on a caller's
// path. Creating all of them at load made start-up pay GOMAXPROCS
// std-Go instantiations (~8 ms each) per module for instances that a
// quiet server may never use.
type pool struct {
	c       *compiled
	name    string
	size    int
	recycle int
	memMark uint32
	log     *slog.Logger
	metrics *Metrics
	host    *Host

	idle    chan *instance
	retired chan struct{}

	mu      sync.Mutex
	live    int
	isRetd  bool
	drained chan struct{}
}

func newPool(ctx context.Context, h *Host, c *compiled, cfg ModuleConfig, log *slog.Logger, metrics *Metrics) (*pool, error) {
	p := &pool{
		host: h,
		c:    c, name: cfg.Name, size: cfg.PoolSize, recycle: cfg.RecycleCalls,
		memMark: uint32(uint64(cfg.MemoryPages) * 65536 * 3 / 4),
		log:     log, metrics: metrics,
		idle:    make(chan *instance, cfg.PoolSize),
		retired: make(chan struct{}),
		drained: make(chan struct{}),
	}
	inst, err := p.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	p.live = 1
	p.idle <- inst
	p.metrics.poolSize(p.name, p.size)
	return p, nil
}

// stderrWriter sends guest stdout/stderr to the logger line by line,
// capped per instance (a panicking Go guest writes its trace in many
// small pieces).
type stderrWriter struct {
	log    *slog.Logger
	module string
	lines  int
	buf    []byte
}

func (w *stderrWriter) Write(b []byte) (int, error) {
	if w.lines >= MaxLogLines {
		return len(b), nil
	}
	w.buf = append(w.buf, b...)
	for w.lines < MaxLogLines {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) < 1024 {
				break
			}
			i = len(w.buf)
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[min(i+1, len(w.buf)):]
		if line == "" {
			continue
		}
		w.lines++
		w.log.Warn("wasm guest output", "module", w.module, "text", sanitize(line, 1024))
	}
	if w.lines >= MaxLogLines {
		w.buf = nil
	}
	return len(b), nil
}

func (p *pool) instantiate(ctx context.Context) (*instance, error) {
	su := &stackUse{}
	ictx, cancel := context.WithTimeout(withStackUse(ctx, su), DefaultInstantiateLimit)
	defer cancel()
	w := &stderrWriter{log: p.log, module: p.name}
	mc := wazero.NewModuleConfig().WithName("").WithStderr(w).WithStdout(w)
	if p.c.init {
		mc = mc.WithStartFunctions(ExportInit)
	} else {
		mc = mc.WithStartFunctions()
	}
	start := time.Now()
	m, err := p.c.rt.rt.InstantiateModule(ictx, p.c.cm, mc)
	if err != nil {
		if ictx.Err() != nil {
			return nil, fmt.Errorf("module %q: instantiating took longer than %s", p.name, DefaultInstantiateLimit)
		}
		if su.exceeded {
			return nil, fmt.Errorf("module %q: instantiating failed: %s: %v", p.name, ExportInit, errCallStack)
		}
		return nil, fmt.Errorf("module %q: instantiating failed: %s", p.name, firstLine(err))
	}
	p.metrics.instantiated(p.name, time.Since(start))
	return &instance{
		mod:       m,
		resolve:   m.ExportedFunction(ExportResolve),
		transform: m.ExportedFunction(ExportTransform),
		check:     m.ExportedFunction(ExportCheck),
		stack:     make([]uint64, 1),
	}, nil
}

// acquire takes an idle instance, waiting at most maxWait: long enough for
// a busy instance to finish its call or a replacement to warm up.
func (p *pool) acquire(ctx context.Context, maxWait time.Duration) (*instance, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	p.mu.Lock()
	live, retired := p.live, p.isRetd
	grow := !retired && live < p.size
	if grow {
		// Reserved now so concurrent callers do not overshoot size.
		p.live++
	}
	p.mu.Unlock()
	if retired {
		// Swapped out by a reload while the caller held the old pool: a
		// drained pool has live == 0, which must not read as broken.
		return nil, errRetired
	}
	if grow {
		// Calls overlap: warm one more instance in the background. The
		// caller takes whichever is free first, this one or a busy one.
		p.warm()
	} else if live == 0 {
		return nil, fmt.Errorf("module %q has no working instance: replacing failed ones did not succeed (see the log)", p.name)
	}
	t := time.NewTimer(maxWait)
	defer t.Stop()
	select {
	case inst := <-p.idle:
		return inst, nil
	case <-p.retired:
		return nil, errRetired
	case <-t.C:
		return nil, fmt.Errorf("module %q: no instance became free within %s", p.name, maxWait)
	case <-ctx.Done():
		return nil, fmt.Errorf("module %q: waiting for a free instance: %w", p.name, ctx.Err())
	}
}

// release returns a healthy instance, or closes it when the pool is retired.
func (p *pool) release(inst *instance) {
	p.mu.Lock()
	if p.isRetd {
		p.mu.Unlock()
		p.drop(inst)
		return
	}
	// Pushed under the lock so retire's closeIdle, which runs after the
	// flag is set, sees it. Never blocks: idle holds at most live <= size.
	p.idle <- inst
	p.mu.Unlock()
}

// discard closes an instance after an error or at its recycle mark, and
// warms a replacement in the background.
func (p *pool) discard(inst *instance) {
	// The replacement is counted before the instance is dropped, so live
	// never reads 0 in between (acquire fails fast on 0).
	p.mu.Lock()
	retired := p.isRetd
	if !retired {
		p.live++
	}
	p.mu.Unlock()
	p.drop(inst)
	if retired {
		return
	}
	p.warm()
}

// warm instantiates one instance, already counted in live, in the
// background and puts it in the pool.
func (p *pool) warm() {
	if !p.host.startBackground() {
		p.unreserve()
		return
	}
	go func() {
		defer p.host.background.Done()
		p.refill()
	}()
}

func (p *pool) refill() {
	var inst *instance
	var err error
	for attempt := range 5 {
		inst, err = p.instantiate(context.Background())
		if err == nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	if err != nil {
		p.log.Error("wasm pool: replacing an instance failed; the pool is smaller", "module", p.name, "error", err)
		p.unreserve()
		return
	}
	p.release(inst)
}

func (p *pool) drop(inst *instance) {
	inst.mod.Close(context.Background())
	p.unreserve()
}

// unreserve counts one instance (or reserved replacement) less.
func (p *pool) unreserve() {
	p.mu.Lock()
	p.live--
	done := p.isRetd && p.live == 0
	p.mu.Unlock()
	if done {
		close(p.drained)
	}
}

// retire stops handing out instances: idle ones are closed now, busy ones
// when they come back. drained is closed once none is left.
func (p *pool) retire() {
	p.mu.Lock()
	if p.isRetd {
		p.mu.Unlock()
		return
	}
	p.isRetd = true
	close(p.retired)
	none := p.live == 0
	p.mu.Unlock()
	if none {
		close(p.drained)
	}
	p.closeIdle(context.Background())
}

func (p *pool) closeIdle(ctx context.Context) {
	for {
		select {
		case inst := <-p.idle:
			if p.isRetired() {
				p.drop(inst)
			} else {
				inst.mod.Close(ctx)
			}
		default:
			return
		}
	}
}

func (p *pool) isRetired() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.isRetd
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return sanitize(s, 512)
}
