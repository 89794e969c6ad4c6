// Package neterr words transport errors for messages that reach logs and
// users.
package neterr

import (
	"errors"
	"net/url"
)

// WithoutURL returns the cause of the *url.Error in err's chain, e.g.
// "dial tcp …: connect: connection refused", dropping the method and URL
// that net/http puts in front: a URL may carry a query with a user's email
// or a secret, and messages name only what went wrong. An error with no
// *url.Error in its chain is returned unchanged.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
