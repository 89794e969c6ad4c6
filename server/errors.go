package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
)

// serializedError is serialize-error's shape as Backstage sends it:
// name, message and, recursively, cause. Stacks are never sent.
type serializedError struct {
	Name    string           `json:"name"`
	Message string           `json:"message"`
	Cause   *serializedError `json:"cause,omitempty"`
}

// genericMessage is what an end user is told of an error that carries no
// message meant for them.
const genericMessage = "An internal error occurred"

// publicError is what an end user sees of err, in the envelope, the popup
// and the redirect flow's ?error=. The line is drawn by type: a message
// written with autherr's constructors (and its typed causes) is meant for
// the user and is shown as Backstage would show it; any other error (a Go
// library's, the WASM host's, a store's driver's) is internal and shows as
// an Error with genericMessage and the request id, the detail staying in
// the log line of that request.
func publicError(err error, requestID string) *serializedError {
	var ae *autherr.Error
	if !errors.As(err, &ae) {
		msg := genericMessage
		if requestID != "" {
			msg += " (request id " + requestID + ")"
		}
		return &serializedError{Name: autherr.NameError, Message: msg}
	}
	out := &serializedError{Name: ae.Name, Message: ae.Message}
	if ae.Cause != nil {
		out.Cause = publicError(ae.Cause, requestID)
		// CustomErrorBase's message format, as autherr.Error.Error.
		out.Message += "; caused by " + out.Cause.Name + ": " + out.Cause.Message
	}
	return out
}

// hidesDetail reports whether publicError leaves out part of err.
func hidesDetail(err error) bool {
	return publicError(err, "").Message != err.Error()
}

// loggedError marks an error whose detail a handler has logged already.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

type errorEnvelope struct {
	Error    *serializedError `json:"error"`
	Request  envelopeRequest  `json:"request"`
	Response envelopeResponse `json:"response"`
}

type envelopeRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type envelopeResponse struct {
	StatusCode int `json:"statusCode"`
}

// writeError is the one place a typed error becomes Backstage's JSON error
// envelope (backend-defaults MiddlewareFactory.error): the status comes from
// the error name (or its HTTPStatus), and request.url is relative to the /api/auth mount.
func writeError(w http.ResponseWriter, r *http.Request, err error) int {
	status := autherr.StatusOf(err)
	writeEnvelope(w, r, status, publicError(err, requestid.FromContext(r.Context())))
	return status
}

// writeEnvelope is the one writer of Backstage's error envelope: se with
// the request's method and mount-relative URL, and status both in the body
// and as the HTTP status.
func writeEnvelope(w http.ResponseWriter, r *http.Request, status int, se *serializedError) {
	body, _ := json.Marshal(errorEnvelope{
		Error:    se,
		Request:  envelopeRequest{Method: r.Method, URL: mountRelativeURL(r)},
		Response: envelopeResponse{StatusCode: status},
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func mountRelativeURL(r *http.Request) string {
	u := r.URL.RequestURI()
	if rest, ok := strings.CutPrefix(u, authMount); ok {
		if rest == "" || rest[0] == '?' {
			rest = "/" + rest
		}
		return rest
	}
	return u
}
