// Package authplug is the Go SDK for Gatehouse WebAssembly sign-in
// resolvers and profile transforms (ABI "authplug v1", ../../ABI.md).
//
// Import it as github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug.
// A module registers its handlers in init and never touches pointers:
//
//	func init() { authplug.HandleResolve(Resolve) }
//	func Resolve(in authplug.Input) (authplug.Result, error) { ... }
//	func main() {}
//
// Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. The
// package uses only the standard library. Built for any other target, the
// host calls are served by a Native host (see native.go), so handlers can
// be unit-tested and benchmarked with plain go test.
package authplug

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Status codes of the ABI.
const (
	StatusOK       = 0
	StatusNotFound = 1
	StatusError    = 2
)

// Profile is the Backstage user profile.
type Profile struct {
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Picture     string `json:"picture,omitempty"`
}

// Input is what a resolver or transform receives.
type Input struct {
	ABI  int    `json:"abi"`
	Kind string `json:"kind"`
	// Module is the module's configured name.
	Module string `json:"module"`
	// Provider is the auth provider id, e.g. "vcfsso".
	Provider string `json:"provider"`
	// Profile is the profile the transforms built (for a transform: the
	// previous transform's output, empty for the first).
	Profile       Profile        `json:"profile"`
	IDTokenClaims map[string]any `json:"idTokenClaims"`
	UserInfo      map[string]any `json:"userinfo"`
	// Options are the keys of the signIn entry beside its name.
	Options map[string]any `json:"options"`
	// Config is gatehouse.modules.<name>.config as JSON.
	Config json.RawMessage `json:"config"`
}

// Claim returns a string claim from userinfo, else from the ID token, as
// the built-in resolvers read claims. ok is false when absent or not a string.
func (in Input) Claim(name string) (string, bool) {
	for _, m := range []map[string]any{in.UserInfo, in.IDTokenClaims} {
		if v, ok := m[name]; ok && v != nil {
			s, ok := v.(string)
			return s, ok
		}
	}
	return "", false
}

// Strings returns a list-of-strings claim from userinfo, else the ID token.
func (in Input) Strings(name string) []string {
	for _, m := range []map[string]any{in.UserInfo, in.IDTokenClaims} {
		v, ok := m[name]
		if !ok || v == nil {
			continue
		}
		l, _ := v.([]any)
		out := make([]string, 0, len(l))
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// DecodeConfig decodes the module config into v.
func (in Input) DecodeConfig(v any) error {
	if len(in.Config) == 0 {
		return nil
	}
	return json.Unmarshal(in.Config, v)
}

// Result is a resolver's answer. Gatehouse validates the refs and issues
// the token itself.
type Result struct {
	// EntityRef is the user's entity ref, e.g. "user:default/jane".
	EntityRef string `json:"entityRef"`
	// OwnershipEntityRefs starts with EntityRef; empty means [EntityRef].
	OwnershipEntityRefs []string `json:"ownershipEntityRefs,omitempty"`
	// Claims are extra token claims; reserved ones are refused by the host.
	Claims map[string]any `json:"claims,omitempty"`
}

// Error is a named error: Name is a Backstage error name ("NotFoundError",
// "NotAllowedError", "ConflictError", "InputError", "Error").
type Error struct {
	Name    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// NotFound lets the next resolver try (status not_found).
func NotFound(format string, args ...any) error {
	return &Error{Name: "NotFoundError", Message: fmt.Sprintf(format, args...)}
}

// NotAllowed refuses the sign-in.
func NotAllowed(format string, args ...any) error {
	return &Error{Name: "NotAllowedError", Message: fmt.Sprintf(format, args...)}
}

// Errorf fails the sign-in with a plain Error.
func Errorf(format string, args ...any) error {
	return &Error{Name: "Error", Message: fmt.Sprintf(format, args...)}
}

// IsNotFound reports whether err is a NotFound error.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Name == "NotFoundError"
}

// Handlers. Register them from init.
var (
	resolveFn   func(Input) (Result, error)
	transformFn func(Input) (Profile, error)
	checkFn     func(kind string, options map[string]any, config json.RawMessage) error
)

// HandleResolve registers the module's sign-in resolver.
func HandleResolve(f func(Input) (Result, error)) { resolveFn = f }

// HandleTransform registers the module's profile transform; it returns the
// whole new profile.
func HandleTransform(f func(Input) (Profile, error)) { transformFn = f }

// HandleOptions registers a check of a signIn entry's options, run once at
// Gatehouse start-up. Without one, a module accepts no options.
func HandleOptions(f func(kind string, options map[string]any, config json.RawMessage) error) {
	checkFn = f
}

// Log levels.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// Logf writes a line to Gatehouse's log, tagged with the module name.
func Logf(level int, format string, args ...any) { hostLog(level, fmt.Sprintf(format, args...)) }

// Query selects a catalog user: set exactly one field.
type Query struct {
	EntityRef   string              `json:"entityRef,omitempty"`
	Filter      []map[string]string `json:"filter,omitempty"`
	Annotations map[string]string   `json:"annotations,omitempty"`
}

// User is a catalog answer.
type User struct {
	EntityRef           string         `json:"entityRef"`
	OwnershipEntityRefs []string       `json:"ownershipEntityRefs"`
	Entity              map[string]any `json:"entity"`
}

// FindUser asks Gatehouse's catalog for the single user matching q. It
// returns a NotFound error when none matches and a ConflictError when
// several do, with the built-in resolvers' messages.
func FindUser(q Query) (*User, error) {
	raw, code := hostCatalogFind(encodeQuery(q))
	if code < 0 {
		return nil, Errorf("catalog lookup failed (%s)", catalogCode(code))
	}
	var a catalogAnswer
	if err := decodeCatalogAnswer(raw, &a); err != nil {
		return nil, Errorf("catalog answer: %v", err)
	}
	if a.Error != nil {
		return nil, &Error{Name: a.Error.Name, Message: a.Error.Message}
	}
	return &a.User, nil
}

func catalogCode(c int64) string {
	switch c {
	case -1:
		return "bad query"
	case -2:
		return "too many lookups"
	case -3:
		return "catalog unavailable"
	case -4:
		return "timeout"
	}
	return fmt.Sprintf("code %d", c)
}

// dispatch runs the handler for an export on the raw input and returns
// the status and output JSON.
func dispatch(export string, raw []byte) (uint32, []byte) {
	var in Input
	if err := decodeInput(raw, &in); err != nil {
		return fail(Errorf("authplug: bad input: %v", err))
	}
	switch export {
	case "resolve":
		if resolveFn == nil {
			return fail(Errorf("module %s registers no sign-in resolver", in.Module))
		}
		res, err := resolveFn(in)
		if err != nil {
			return fail(err)
		}
		b, err := encodeResult(res)
		if err != nil {
			return fail(Errorf("authplug: result is not JSON-encodable: %v", err))
		}
		return StatusOK, b
	case "transform":
		if transformFn == nil {
			return fail(Errorf("module %s registers no profile transform", in.Module))
		}
		p, err := transformFn(in)
		if err != nil {
			return fail(err)
		}
		return StatusOK, encodeTransform(p)
	default: // check
		var missing string
		switch in.Kind {
		case "signInResolver":
			if resolveFn == nil {
				missing = "sign-in resolver"
			}
		case "profileTransform":
			if transformFn == nil {
				missing = "profile transform"
			}
		}
		if missing != "" {
			return fail(Errorf("module %s registers no %s", in.Module, missing))
		}
		if checkFn == nil {
			if len(in.Options) > 0 {
				keys := make([]string, 0, len(in.Options))
				for k := range in.Options {
					keys = append(keys, k)
				}
				return fail(Errorf("module %s does not accept options (got %s)", in.Module, strings.Join(keys, ", ")))
			}
			return StatusOK, nil
		}
		if err := checkFn(in.Kind, in.Options, in.Config); err != nil {
			return fail(err)
		}
		return StatusOK, nil
	}
}

func fail(err error) (uint32, []byte) {
	e := &Error{Name: "Error", Message: err.Error()}
	errors.As(err, &e)
	b := encodeError(e.Name, e.Message)
	if e.Name == "NotFoundError" {
		return StatusNotFound, b
	}
	return StatusError, b
}
