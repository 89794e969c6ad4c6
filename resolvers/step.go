package resolvers

import "strings"

// Step is one configured sign-in resolver or profile transform: the
// resolvers package's own view of a signIn entry, filled in by the wiring
// from the loaded configuration, so that resolvers never imports config.
type Step struct {
	// Name picks the factory (a built-in or a module name).
	Name string
	// Options are the entry's other keys, handed to the factory; nil when none.
	Options map[string]any
	// Path is the entry's key path, e.g.
	// "auth.providers.vcfsso.development.signIn.resolvers[1]", used to
	// report problems.
	Path string
}

// StepProblem is one step that could not be opened: its key path and why.
type StepProblem struct {
	Path    string
	Message string
}

// String renders the problem as "path: message", or just the message when
// Path is empty.
func (p StepProblem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// StepProblems is every step that NewChain or NewTransforms could not open,
// in configured order; they return it, non-empty, as their error.
type StepProblems []StepProblem

// Error lists the problems one per line, as StepProblem.String renders them.
func (ps StepProblems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
