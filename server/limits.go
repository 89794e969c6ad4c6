package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Names of the limit errors, as http-errors names them in Node (a body
// over body-parser's limit is a PayloadTooLargeError there too).
const (
	namePayloadTooLarge        = "PayloadTooLargeError"
	nameHeaderFieldsTooLarge   = "RequestHeaderFieldsTooLargeError"
	msgPayloadTooLargeTemplate = "request entity too large: the body is over backend.limits.maxBodyBytes (%d bytes)"
)

// limits refuses a request whose headers or body are over the caps, with
// the error envelope and 431/413, before any handler sees it. A body under
// the cap is read here in full (it is at most maxBodyBytes) so that a
// chunked body over it is refused the same way as a declared one.
func (e *edge) limits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := headerBytes(r); n > e.maxHeaderBytes {
			writeStatusError(w, r, http.StatusRequestHeaderFieldsTooLarge, nameHeaderFieldsTooLarge,
				fmt.Sprintf("request header fields too large: %d bytes, over backend.limits.maxHeaderBytes (%d bytes)", n, e.maxHeaderBytes))
			return
		}
		if r.ContentLength > e.maxBodyBytes {
			e.tooLarge(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.maxBodyBytes))
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				e.tooLarge(w, r)
				return
			case err != nil:
				// The client went away or the read timed out: there is no
				// one left to answer.
				w.Header().Set("Connection", "close")
				writeStatusError(w, r, http.StatusBadRequest, "BadRequestError", "request body could not be read")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		next.ServeHTTP(w, r)
	})
}

func (e *edge) tooLarge(w http.ResponseWriter, r *http.Request) {
	// The rest of the body is not read: the connection cannot be reused.
	w.Header().Set("Connection", "close")
	writeStatusError(w, r, http.StatusRequestEntityTooLarge, namePayloadTooLarge, fmt.Sprintf(msgPayloadTooLargeTemplate, e.maxBodyBytes))
}

// headerBytes is the size of the request line and header fields as they
// came on the wire (give or take the separators' whitespace).
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if r.Host != "" && r.Header.Get("Host") == "" {
		n += len("Host") + len(r.Host) + 4
	}
	return n
}

// writeStatusError writes Backstage's error envelope with an explicit
// status, for errors that have no autherr name.
func writeStatusError(w http.ResponseWriter, r *http.Request, status int, name, message string) {
	writeEnvelope(w, r, status, &serializedError{Name: name, Message: message})
}
