package resolvers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/keypath"
)

// errUnresolved is Backstage's message when every resolver answered NotFound.
const errUnresolved = "Failed to sign-in, unable to resolve user identity. Please verify that your catalog contains the expected User entities that would match your configured sign-in resolver."

// Chain runs sign-in resolvers in configured order (Backstage's declarative
// resolver): NotFound passes to the next one, any other error stops the
// sign-in, and a chain of only NotFound fails with Backstage's message.
type Chain struct {
	steps []chainStep
	// observe, when set, sees every step's name, duration and error.
	observe StepObserver
}

// StepObserver is told of each resolver step a Chain runs (for metrics):
// its configured name, how long it took and its error (nil on a match).
type StepObserver func(name string, d time.Duration, err error)

// Observe sets the observer of every later Resolve. Call it before the
// chain serves requests; it is not synchronised with Resolve.
func (c *Chain) Observe(o StepObserver) { c.observe = o }

// ErrUnresolved is matched, with errors.Is, by the error a Chain returns
// when every resolver answered NotFound. That error is still, for
// errors.As and autherr.NameOf, the *autherr.Error named "Error" whose
// message is exactly Backstage's "Failed to sign-in, unable to resolve user
// identity. …": the sentinel changes nothing Backstage sees.
var ErrUnresolved = errors.New("no sign-in resolver matched the user")

// unresolvedError is the Chain's "unable to resolve" answer. It wraps both
// the Backstage-shaped error the client sees and ErrUnresolved, so callers
// classify it with errors.Is instead of comparing message strings. It is a
// fresh value per sign-in because callers may set HTTPStatus on the
// *autherr.Error they get.
type unresolvedError struct{ wire *autherr.Error }

func (e *unresolvedError) Error() string   { return e.wire.Error() }
func (e *unresolvedError) Unwrap() []error { return []error{e.wire, ErrUnresolved} }

type chainStep struct {
	name string
	r    SignInResolver
}

var _ SignInResolver = (*Chain)(nil)

// NewChain opens each step with its factory. Every unknown name or bad
// option is reported, as keypath.Problems naming the entry's key path.
func NewChain(steps []Step, factories map[string]ResolverFactory, deps Deps) (*Chain, error) {
	rs, err := openSteps(steps, factories, "Sign-in resolver '%s' is not available",
		func(f ResolverFactory, s Step) (SignInResolver, error) { return f(s.Options, deps) })
	if err != nil {
		return nil, err
	}
	c := &Chain{}
	for i, r := range rs {
		c.steps = append(c.steps, chainStep{name: steps[i].Name, r: r})
	}
	return c, nil
}

// openSteps opens each configured step with its named factory. Every
// unknown name and every factory error is collected as a keypath.Problem
// at the step's key path, so start-up reports them all at once.
func openSteps[F, T any](steps []Step, factories map[string]F, unknownFormat string, open func(F, Step) (T, error)) ([]T, error) {
	var problems keypath.Problems
	out := make([]T, 0, len(steps))
	for _, s := range steps {
		f, ok := factories[s.Name]
		if !ok {
			problems = append(problems, keypath.Problem{Path: s.Path, Message: fmt.Sprintf(unknownFormat, s.Name)})
			continue
		}
		v, err := open(f, s)
		if err != nil {
			problems = append(problems, keypath.Problem{Path: s.Path, Message: err.Error()})
			continue
		}
		out = append(out, v)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// Resolve implements SignInResolver. The result's Resolver names the step
// that answered and its refs are validated and lower-cased.
func (c *Chain) Resolve(ctx context.Context, in SignInInput) (*SignInResult, error) {
	for _, s := range c.steps {
		start := time.Now()
		res, err := s.r.Resolve(ctx, in)
		if c.observe != nil {
			c.observe(s.name, time.Since(start), err)
		}
		if err != nil {
			if autherr.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		if res == nil || res.UserEntityRef == "" {
			return nil, autherr.Plain("sign-in resolver '%s' returned no user entity ref", s.name)
		}
		out, err := canonicalSignInResult(res)
		if err != nil {
			return nil, autherr.Wrap(autherr.NameError, fmt.Sprintf("sign-in resolver '%s' returned an invalid result", s.name), err)
		}
		out.Resolver = s.name
		return out, nil
	}
	return nil, &unresolvedError{wire: autherr.Plain(errUnresolved)}
}
