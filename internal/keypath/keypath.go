// Package keypath is what every part of Gatehouse reports configuration
// problems with: a key path and a message. The config loader and the
// packages that check their own settings (resolvers, modules) share it, so
// that `gatehouse check` prints one kind of problem without either
// package importing the other.
package keypath

import "strings"

// Problem is one thing wrong with the configuration. Path is the key path
// ("auth.providers.vcfsso.development.clientSecret", list entries as "[0]"),
// or a file name (with ":line" when the YAML parser reported one), or an
// APP_CONFIG_* variable name. Message never contains a secret value.
type Problem struct {
	Path    string
	Message string
}

// String renders the problem as "path: message", or just the message when
// Path is empty.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is a list of problems; a non-empty one is returned as an error.
type Problems []Problem

// Error lists all problems, one per line, in order.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
