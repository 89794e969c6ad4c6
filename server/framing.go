package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Ambiguous message framing (RFC 9112 §6.1, §6.3). net/http serves a
// request with both Content-Length and Transfer-Encoding: chunked by the
// chunked body and deletes Content-Length before any handler runs, then
// keeps the connection open: a proxy in front that framed the request by
// its Content-Length forwards bytes that net/http reads as a second,
// hidden request. The RFC says the server MUST close such a connection.
// Since a handler cannot see the deleted header, the connection itself
// watches the raw header blocks; RefuseAmbiguousFraming then refuses every
// request on a connection where one was seen.

// nameBadRequest is http-errors' name for a 400.
const nameBadRequest = "BadRequestError"

const msgAmbiguousFraming = "request has both Transfer-Encoding and Content-Length (or Transfer-Encoding in HTTP/1.0): its length is ambiguous (RFC 9112 §6.1); the connection is closed"

// framingScanner watches a byte stream for a header block (lines up to an
// empty line) holding both a Transfer-Encoding and a Content-Length field,
// or a Transfer-Encoding in an HTTP/1.0 request. It does not know where
// bodies end, so a body is scanned like headers: that can only find more,
// never miss a block net/http parses, because every header field net/http
// reads starts right after a '\n' and a block ends only at an empty line.
type framingScanner struct {
	head    [40]byte // the start of the current line, lower-cased
	n       int      // bytes of the current line, capped at len(head)
	tail    [8]byte  // the last bytes of the current line ('\r' skipped), lower-cased
	lineLen int
	cl, te  bool // seen in the current block
	http10  bool // a line of the current block ends in HTTP/1.0
}

// feed scans p and reports whether an ambiguous block was seen in it. It
// works a line segment at a time (bytes.IndexByte finds the line ends):
// a request's headers, cookies above all, run to a few kilobytes, and the
// byte-at-a-time loop this replaced cost ~2% of a /refresh.
func (s *framingScanner) feed(p []byte) bool {
	found := false
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.take(p)
			break
		}
		s.take(p[:i])
		found = s.endLine() || found
		p = p[i+1:]
	}
	return found
}

// take adds seg, a piece of the current line without its '\n', to head
// (its start) and tail (its last bytes other than '\r'), both lower-cased.
func (s *framingScanner) take(seg []byte) {
	for _, b := range seg[:min(len(seg), len(s.head)-s.n)] {
		s.head[s.n] = lowerASCII(b)
		s.n++
	}
	var t [len(s.tail)]byte
	k := 0
	for j := len(seg) - 1; j >= 0 && k < len(t); j-- {
		if seg[j] != '\r' {
			k++
			t[len(t)-k] = lowerASCII(seg[j])
		}
	}
	copy(s.tail[:], s.tail[k:])
	copy(s.tail[len(s.tail)-k:], t[len(t)-k:])
	s.lineLen += len(seg)
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func (s *framingScanner) endLine() bool {
	line := s.head[:s.n]
	empty := s.lineLen == 0 || (s.lineLen == 1 && line[0] == '\r')
	if empty {
		s.cl, s.te, s.http10 = false, false, false
	} else {
		// Leading whitespace (an obs-fold continuation) and whitespace
		// before the colon are not valid field names; counting them anyway
		// only makes the check stricter.
		f := bytes.TrimLeft(line, " \t")
		s.cl = s.cl || fieldIs(f, "content-length")
		s.te = s.te || fieldIs(f, "transfer-encoding")
		s.http10 = s.http10 || string(s.tail[:]) == "http/1.0"
	}
	s.n, s.lineLen, s.tail = 0, 0, [8]byte{}
	return s.te && (s.cl || s.http10)
}

// fieldIs reports whether line starts with the field name, then optional
// whitespace and a colon.
func fieldIs(line []byte, name string) bool {
	rest, ok := bytes.CutPrefix(line, []byte(name))
	return ok && bytes.HasPrefix(bytes.TrimLeft(rest, " \t"), []byte(":"))
}

// framingConn is an HTTP/1.x connection that records whether an ambiguous
// header block came in on it. The flag never clears: the connection is
// closed after the next answer.
type framingConn struct {
	net.Conn
	mu        sync.Mutex
	scan      framingScanner
	ambiguous atomic.Bool
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.scan.feed(p[:n]) {
			c.ambiguous.Store(true)
		}
		c.mu.Unlock()
	}
	return n, err
}

// framingTLSConn is a framingConn over TLS; net/http sets Request.TLS from
// its ConnectionState.
type framingTLSConn struct {
	*framingConn
	tls *tls.Conn
}

func (c *framingTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

type framingKey struct{}

// FramingConnContext is for http.Server.ConnContext: it makes the
// connection's framing record visible to RefuseAmbiguousFraming.
func FramingConnContext(ctx context.Context, c net.Conn) context.Context {
	switch fc := c.(type) {
	case *framingConn:
		return context.WithValue(ctx, framingKey{}, fc)
	case *framingTLSConn:
		return context.WithValue(ctx, framingKey{}, fc.framingConn)
	}
	return ctx
}

// RefuseAmbiguousFraming answers 400 in the error envelope, with
// Connection: close, every request on a connection from FramingListener
// where a header block had both Transfer-Encoding and Content-Length (or
// Transfer-Encoding in HTTP/1.0), so that nothing after it on that
// connection is ever read as a request. Other requests go to next.
func RefuseAmbiguousFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc, ok := r.Context().Value(framingKey{}).(*framingConn); ok && fc.ambiguous.Load() {
			w.Header().Set("Connection", "close")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			writeStatusError(w, r, http.StatusBadRequest, nameBadRequest, msgAmbiguousFraming)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// FramingListener wraps ln so that its HTTP/1.x connections record
// ambiguous framing for RefuseAmbiguousFraming (set FramingConnContext as
// the server's ConnContext). With tc it also ends TLS, as tls.NewListener
// would: the handshake (bounded by handshakeTimeout when it is positive)
// runs off the accept loop, and a connection that negotiated h2 is handed
// over as the *tls.Conn net/http needs to serve HTTP/2, which has no
// Transfer-Encoding to watch for.
func FramingListener(ln net.Listener, tc *tls.Config, handshakeTimeout time.Duration) net.Listener {
	if tc == nil {
		return plainFramingListener{ln}
	}
	l := &tlsFramingListener{Listener: ln, config: tc, timeout: handshakeTimeout,
		accepted: make(chan acceptResult), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type plainFramingListener struct{ net.Listener }

func (l plainFramingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

type acceptResult struct {
	conn net.Conn
	err  error
}

type tlsFramingListener struct {
	net.Listener
	config    *tls.Config
	timeout   time.Duration
	accepted  chan acceptResult
	done      chan struct{}
	closeOnce sync.Once
}

func (l *tlsFramingListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			// Passed on for http.Server to back off on or stop at.
			select {
			case l.accepted <- acceptResult{err: err}:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.handshake(c)
	}
}

func (l *tlsFramingListener) handshake(raw net.Conn) {
	tc := tls.Server(raw, l.config)
	if l.timeout > 0 {
		_ = raw.SetDeadline(time.Now().Add(l.timeout))
	}
	if err := tc.Handshake(); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			// As net/http answers plain HTTP on its TLS port.
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		raw.Close()
		return
	}
	_ = raw.SetDeadline(time.Time{})
	var c net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		c = &framingTLSConn{framingConn: &framingConn{Conn: tc}, tls: tc}
	}
	select {
	case l.accepted <- acceptResult{conn: c}:
	case <-l.done:
		tc.Close()
	}
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

func (l *tlsFramingListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.accepted:
		return r.conn, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tlsFramingListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
