package resolvers

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
