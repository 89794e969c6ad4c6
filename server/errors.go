package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/autherr"
)

// serializedError is serialize-error's shape as Backstage sends it:
// name, message and, recursively, cause. Stacks are never sent.
type serializedError struct {
	Name    string           `json:"name"`
	Message string           `json:"message"`
	Cause   *serializedError `json:"cause,omitempty"`
}

func serializeError(err error) *serializedError {
	if err == nil {
		return nil
	}
	out := &serializedError{Name: autherr.NameOf(err), Message: err.Error()}
	var ae *autherr.Error
	if errors.As(err, &ae) {
		out.Message = ae.Error()
		out.Cause = serializeError(ae.Cause)
	}
	return out
}

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
// the error name, and request.url is relative to the /api/auth mount.
func writeError(w http.ResponseWriter, r *http.Request, err error) int {
	se := serializeError(err)
	status := autherr.Status(se.Name)
	body, _ := json.Marshal(errorEnvelope{
		Error:    se,
		Request:  envelopeRequest{Method: r.Method, URL: mountRelativeURL(r)},
		Response: envelopeResponse{StatusCode: status},
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
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
