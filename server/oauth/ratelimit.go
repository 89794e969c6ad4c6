package oauth

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimitedAddresses bounds the per-address limiters kept at once, so a
// caller cycling through addresses cannot grow the map without end.
const maxLimitedAddresses = 10000

// addressLimiter is a token bucket per client address: n events per
// window, bursting to n.
type addressLimiter struct {
	mu     sync.Mutex
	limit  rate.Limit
	burst  int
	byAddr map[string]*rate.Limiter
}

func newAddressLimiter(n int, window time.Duration) *addressLimiter {
	return &addressLimiter{limit: rate.Limit(float64(n) / window.Seconds()), burst: n, byAddr: map[string]*rate.Limiter{}}
}

// allow takes one event for addr at now; when the bucket is empty it
// returns false and how long until the next event is allowed.
func (a *addressLimiter) allow(addr string, now time.Time) (bool, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.byAddr[addr]
	if !ok {
		if len(a.byAddr) >= maxLimitedAddresses {
			a.sweep(now)
		}
		l = rate.NewLimiter(a.limit, a.burst)
		a.byAddr[addr] = l
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the addresses whose bucket has refilled (forgetting them
// changes nothing); if every address is still limited it forgets them
// all, which lets a caller with more than maxLimitedAddresses addresses
// through — bounded memory wins over a perfect limit then.
func (a *addressLimiter) sweep(now time.Time) {
	for k, l := range a.byAddr {
		if l.TokensAt(now) >= float64(a.burst) {
			delete(a.byAddr, k)
		}
	}
	if len(a.byAddr) >= maxLimitedAddresses {
		clear(a.byAddr)
	}
}

// clientAddress is the TCP peer's host: never X-Forwarded-For, which the
// caller writes itself.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// retryAfter is a Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
