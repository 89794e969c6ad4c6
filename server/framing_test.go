package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// framingSeeds are header blocks as clients and attackers send them.
var framingSeeds = []struct {
	raw       string
	ambiguous bool
}{
	{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
	{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ncontent-length: 5\r\n\r\n", true},
	{"POST / HTTP/1.1\nTRANSFER-ENCODING: gzip, chunked\nCONTENT-LENGTH : 5\n\n", true},
	{"POST / HTTP/1.1\r\nX: y\r\n Content-Length: 5\r\nTransfer-Encoding:chunked\r\n\r\n", true},
	{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	// A body, then the next request's head: still one block to the scanner.
	{"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", true},
	{"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", false},
	{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
	// The two fields in different blocks (pipelined requests).
	{"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nX-Transfer-Encoding: chunked\r\nX-Content-Length: 5\r\n\r\n", false},
}

// feedBytewise is the scanner's feed as it was, a byte at a time: the
// reference the segment-wise feed must agree with.
func (s *framingScanner) feedBytewise(p []byte) bool {
	found := false
	for _, b := range p {
		if b == '\n' {
			found = s.endLine() || found
			continue
		}
		b = lowerASCII(b)
		if s.n < len(s.head) {
			s.head[s.n] = b
			s.n++
		}
		if b != '\r' {
			copy(s.tail[:], s.tail[1:])
			s.tail[len(s.tail)-1] = b
		}
		s.lineLen++
	}
	return found
}

func feedAll(raw []byte, split int) bool {
	var s framingScanner
	a := s.feed(raw[:split])
	return s.feed(raw[split:]) || a
}

func TestFramingScanner(t *testing.T) {
	for _, c := range framingSeeds {
		for split := 0; split <= len(c.raw); split++ {
			if got := feedAll([]byte(c.raw), split); got != c.ambiguous {
				t.Errorf("%q split at %d: ambiguous = %v, want %v", c.raw, split, got, c.ambiguous)
				break
			}
		}
	}
}

// FuzzFramingScanner: wherever the stream is cut into reads, the scanner
// answers the same, and it flags every header block in which net/http's
// own header parser finds both Transfer-Encoding and Content-Length.
func FuzzFramingScanner(f *testing.F) {
	for _, c := range framingSeeds {
		f.Add([]byte(c.raw), uint16(len(c.raw)/2))
	}
	f.Fuzz(func(t *testing.T, raw []byte, split uint16) {
		got := feedAll(raw, len(raw))
		k := int(split) % (len(raw) + 1)
		if feedAll(raw, k) != got {
			t.Fatalf("%q: split at %d gives %v, whole gives %v", raw, k, !got, got)
		}
		var seg, ref framingScanner
		a, b := seg.feed(raw[:k]), ref.feedBytewise(raw[:k])
		if a != b || seg.feed(raw[k:]) != ref.feedBytewise(raw[k:]) || seg != ref {
			t.Fatalf("%q split at %d: segment-wise scanner %+v, byte-wise %+v", raw, k, seg, ref)
		}
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
		if _, err := tp.ReadLine(); err != nil {
			return
		}
		h, err := tp.ReadMIMEHeader()
		if err == nil && len(h["Content-Length"]) > 0 && len(h["Transfer-Encoding"]) > 0 && !got {
			t.Fatalf("%q: net/http reads both fields, the scanner saw none", raw)
		}
	})
}

// TestRefuseAmbiguousFraming serves over a FramingListener: the ambiguous
// request is refused with the envelope and the connection closed before
// the request smuggled in its body; clean keep-alive requests are served.
func TestRefuseAmbiguousFraming(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:     RefuseAmbiguousFraming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "served "+r.URL.Path) })),
		ConnContext: FramingConnContext,
	}
	go func() { _ = srv.Serve(FramingListener(ln, nil, 0)) }()
	t.Cleanup(func() { srv.Close() })
	exchange := func(raw string) string {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, raw)
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%q: %v (the connection stayed open)", raw, err)
		}
		return string(out)
	}
	out := exchange("POST /api/auth/x HTTP/1.1\r\nHost: x\r\nContent-Length: 32\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 400 ") || !strings.Contains(out, "Connection: close\r\n") ||
		!strings.Contains(out, `{"error":{"name":"BadRequestError","message":"request has both Transfer-Encoding and Content-Length`) ||
		!strings.Contains(out, `"request":{"method":"POST","url":"/x"},"response":{"statusCode":400}}`) || strings.Contains(out, "hidden") {
		t.Errorf("ambiguous request answered:\n%s", out)
	}
	out = exchange("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 200 ") != 2 || !strings.Contains(out, "served /b") {
		t.Errorf("clean pipelined requests:\n%s", out)
	}
}

// BenchmarkFramingScanner feeds the head of a browser's /refresh: a few
// short fields and a 1.5 KB Cookie line.
func BenchmarkFramingScanner(b *testing.B) {
	raw := []byte("GET /api/auth/vcfsso/refresh?env=development HTTP/1.1\r\nHost: backstage.example.com\r\nX-Requested-With: XMLHttpRequest\r\nCookie: " +
		strings.Repeat("vcfsso-refresh-token=abcdefghijklmnopqrstuvwxyz0123456789; ", 40) + "\r\nAccept: */*\r\n\r\n")
	b.SetBytes(int64(len(raw)))
	for _, c := range []struct {
		name string
		feed func(*framingScanner, []byte) bool
	}{{"segments", (*framingScanner).feed}, {"bytewise", (*framingScanner).feedBytewise}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var s framingScanner
				if c.feed(&s, raw) {
					b.Fatal("ambiguous")
				}
			}
		})
	}
}
