package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"

	"github.com/gatehouse-auth/gatehouse/internal/plainvalue"
)

// Options tunes where Load takes its environment from. The zero value uses
// the process environment.
type Options struct {
	// LookupEnv resolves ${VAR} and {$env: VAR}; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists "NAME=value" entries scanned for APP_CONFIG_*
	// overrides; nil means os.Environ.
	Environ func() []string
}

func (o Options) lookup(name string) (string, bool) {
	if o.LookupEnv == nil {
		return os.LookupEnv(name)
	}
	return o.LookupEnv(name)
}

func (o Options) environ() []string {
	if o.Environ == nil {
		return os.Environ()
	}
	return o.Environ()
}

// keyDelim is koanf's key delimiter. Config keys may contain dots
// (startUrlSearchParams, annotations), so it is a byte that never appears in
// a key; Gatehouse only reads the merged tree, never koanf's flat keys.
const keyDelim = "\x00"

// maxIncludeDepth bounds nested $include chains (and so include cycles).
const maxIncludeDepth = 16

// envPrefix starts the names of environment variables that override keys.
const envPrefix = "APP_CONFIG_"

// Load reads, transforms and merges the given app-config files in order,
// applies APP_CONFIG_* environment overrides and returns the typed Config,
// using the process environment. See LoadWith.
func Load(files []string) (*Config, error) {
	return LoadWith(files, Options{})
}

// LoadWith is Load with an explicit environment. It guarantees:
//
//   - files merge in order, later wins; maps merge deeply, lists and scalars
//     replace;
//   - in every file, before merging, string values have ${VAR} substituted
//     ($${ yields a literal ${), and the one-key maps {$env: VAR},
//     {$file: path} and {$include: path[#dot.path]} are replaced by the env
//     value, the file's text and the file's parsed YAML/JSON (text for other
//     extensions), paths being relative to the config file's directory;
//   - APP_CONFIG_a_b_c=value sets a.b.c after all files (value parsed as
//     JSON when it is JSON, else a string; no ${VAR} substitution is done
//     on these values);
//   - on any problem it returns a nil Config and a Problems error listing
//     every problem found, sorted by Path; read and YAML errors have the file
//     name (":line" added when known) as Path.
func LoadWith(files []string, opts Options) (*Config, error) {
	cfg, ps := LoadPartial(files, opts)
	if len(ps) > 0 {
		return nil, ps
	}
	return cfg, nil
}

// LoadBytes loads one in-memory config file called name (for tests and
// embedded configs) exactly as LoadWith would load a file with that content;
// relative $file and $include paths resolve against the working directory.
func LoadBytes(name string, data []byte, opts Options) (*Config, error) {
	return load([]source{{name: name, dir: "", data: data}}, []string{name}, opts, nil)
}

type source struct {
	name string
	dir  string
	data []byte
}

func load(srcs []source, files []string, opts Options, ps Problems) (*Config, error) {
	cfg, ps := loadPartial(srcs, files, opts, ps)
	if len(ps) > 0 {
		return nil, ps
	}
	return cfg, nil
}

// LoadPartial is LoadWith for `gatehouse check`: besides the problems, it
// returns the Config decoded as far as it could be, so that later stages
// (wiring resolvers, transforms, modules) can report their problems in the
// same run. Keys with problems hold zero values. The Config is nil only
// when a file could not be read or parsed (nothing else is checked then).
// Problems is nil when there is none.
func LoadPartial(files []string, opts Options) (*Config, Problems) {
	srcs := make([]source, 0, len(files))
	var ps Problems
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			ps = append(ps, Problem{Path: f, Message: fileErr(err)})
			continue
		}
		srcs = append(srcs, source{name: f, dir: filepath.Dir(f), data: data})
	}
	return loadPartial(srcs, files, opts, ps)
}

func loadPartial(srcs []source, files []string, opts Options, ps Problems) (*Config, Problems) {
	ko := koanf.New(keyDelim)
	t := &transformer{opts: opts, failed: map[string]bool{}}
	for _, s := range srcs {
		tree, yps := parseYAML(s.name, s.data)
		if yps != nil {
			ps = append(ps, yps...)
			continue
		}
		tree = t.transformMap(tree, "", s.dir, 0)
		if err := ko.Load(confmap.Provider(tree, ""), nil); err != nil {
			ps = append(ps, Problem{Path: s.name, Message: err.Error()})
		}
	}
	ps = append(ps, t.problems...)
	envTree, envProblems := envOverrides(opts.environ())
	ps = append(ps, envProblems...)
	if len(envTree) > 0 {
		if err := ko.Load(confmap.Provider(envTree, ""), nil); err != nil {
			ps = append(ps, Problem{Path: envPrefix + "*", Message: err.Error()})
		}
	}
	for _, p := range ps {
		if isFileProblem(p, files) {
			// A file could not be read or parsed: validating the rest would
			// only add misleading "required" problems.
			return nil, sortProblems(ps)
		}
	}
	d := &decoder{failed: t.failed}
	cfg := d.decode(ko.Raw())
	cfg.Files = append([]string(nil), files...)
	ps = append(ps, d.problems...)
	if len(ps) > 0 {
		return cfg, sortProblems(ps)
	}
	return cfg, nil
}

func isFileProblem(p Problem, files []string) bool {
	for _, f := range files {
		if p.Path == f || strings.HasPrefix(p.Path, f+":") {
			return true
		}
	}
	return false
}

var (
	yamlLineRe     = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlSubLineRe  = regexp.MustCompile(`^\s*line (\d+): (.*)$`)
	yamlTopLevelRe = regexp.MustCompile(`cannot unmarshal !!\w+ .*into map`)
)

// parseYAML parses one config document; an empty document is an empty map.
// Errors become problems whose Path is "name:line" when the parser gave a
// line.
func parseYAML(name string, data []byte) (map[string]any, Problems) {
	tree, err := yaml.Parser().Unmarshal(data)
	if err == nil {
		if tree == nil {
			tree = map[string]any{}
		}
		return plainvalue.CopyMap(tree), nil
	}
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		return nil, Problems{{Path: name + ":" + m[1], Message: m[2]}}
	}
	if yamlTopLevelRe.MatchString(msg) {
		var probe any
		if yamlUnmarshalAny(data, &probe) == nil && probe != nil {
			return nil, Problems{{Path: name, Message: "the top level must be a map of keys, got " + describe(probe, true)}}
		}
	}
	var ps Problems
	for _, line := range strings.Split(msg, "\n") {
		if m := yamlSubLineRe.FindStringSubmatch(line); m != nil {
			ps = append(ps, Problem{Path: name + ":" + m[1], Message: m[2]})
		}
	}
	if len(ps) == 0 {
		ps = Problems{{Path: name, Message: strings.TrimPrefix(msg, "yaml: ")}}
	}
	return nil, ps
}

func fileErr(err error) string {
	if pathErr, ok := err.(*os.PathError); ok {
		return pathErr.Op + ": " + pathErr.Err.Error()
	}
	return err.Error()
}

// transformer applies substitutions and $env/$file/$include to one tree,
// collecting problems. failed holds key paths whose value could not be
// resolved (already reported), so the decoder does not report them again.
type transformer struct {
	opts     Options
	problems Problems
	failed   map[string]bool
}

func (t *transformer) fail(path, format string, args ...any) {
	t.problems = append(t.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	t.failed[path] = true
}

// failUnset reports an unset environment variable, but only at a key
// Gatehouse reads: an app-config shared with Backstage references variables
// for plugins Gatehouse never runs, and Backstage itself treats an unset
// one as an absent value.
func (t *transformer) failUnset(path, name string) {
	t.failed[path] = true
	if readByGatehouse(path) {
		t.problems = append(t.problems, Problem{Path: path, Message: fmt.Sprintf("environment variable %q is not set", name)})
	}
}

// gatehousePrefixes are the config subtrees Gatehouse reads.
var gatehousePrefixes = []string{"app.baseUrl", "backend.", "auth.", "catalog.locations", "gatehouse.", "discovery."}

func readByGatehouse(path string) bool {
	for _, p := range gatehousePrefixes {
		if path == strings.TrimSuffix(p, ".") || strings.HasPrefix(path, p) || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

func (t *transformer) transformMap(m map[string]any, path, dir string, depth int) map[string]any {
	for k, v := range m {
		m[k] = t.transform(v, joinPath(path, k), dir, depth)
	}
	return m
}

var includeKeys = []string{"$env", "$file", "$include"}

func (t *transformer) transform(v any, path, dir string, depth int) any {
	switch x := v.(type) {
	case string:
		return t.substitute(x, path)
	case []any:
		for i, e := range x {
			x[i] = t.transform(e, indexPath(path, i), dir, depth)
		}
		return x
	case map[string]any:
		for _, ik := range includeKeys {
			if _, ok := x[ik]; !ok {
				continue
			}
			if len(x) != 1 {
				t.fail(path, "%s must be the only key of its map", ik)
				return nil
			}
			return t.include(ik, x[ik], path, dir, depth)
		}
		return t.transformMap(x, path, dir, depth)
	}
	return v
}

// include resolves {$env: X}, {$file: X} and {$include: X}.
func (t *transformer) include(kind string, arg any, path, dir string, depth int) any {
	s, ok := arg.(string)
	if !ok {
		t.fail(path, "%s expects a string, got %s", kind, describe(arg, false))
		return nil
	}
	s = strings.TrimSpace(t.substitute(s, path))
	if s == "" {
		t.fail(path, "%s expects a non-empty string", kind)
		return nil
	}
	switch kind {
	case "$env":
		val, ok := t.opts.lookup(s)
		if !ok {
			t.failUnset(path, s)
			return nil
		}
		return val
	case "$file":
		data, err := os.ReadFile(resolvePath(dir, s))
		if err != nil {
			t.fail(path, "$file %q: %s", s, fileErr(err))
			return nil
		}
		return string(data)
	}
	return t.includeFile(s, path, dir, depth)
}

// includeFile resolves {$include: s}: the file s names (before any
// "#dot.path"), parsed by its extension (.json, .yaml/.yml, else text),
// narrowed to the dot path, and transformed in turn relative to its own
// directory. Any failure is a problem at path and gives nil.
func (t *transformer) includeFile(s, path, dir string, depth int) any {
	if depth >= maxIncludeDepth {
		t.fail(path, "$include %q: includes nested more than %d deep (a cycle?)", s, maxIncludeDepth)
		return nil
	}
	file, sel, _ := strings.Cut(s, "#")
	full := resolvePath(dir, file)
	data, err := os.ReadFile(full)
	if err != nil {
		t.fail(path, "$include %q: %s", s, fileErr(err))
		return nil
	}
	var val any
	switch strings.ToLower(filepath.Ext(file)) {
	case ".json":
		if err := json.Unmarshal(data, &val); err != nil {
			t.fail(path, "$include %q: invalid JSON: %v", s, err)
			return nil
		}
	case ".yaml", ".yml":
		if err := yamlUnmarshalAny(data, &val); err != nil {
			t.fail(path, "$include %q: invalid YAML: %s", s, strings.TrimPrefix(err.Error(), "yaml: "))
			return nil
		}
	default:
		val = string(data)
	}
	val = plainvalue.Copy(val)
	if sel != "" {
		for _, part := range strings.Split(sel, ".") {
			m, ok := val.(map[string]any)
			if !ok {
				t.fail(path, "$include %q: key %q not found in %s", s, sel, file)
				return nil
			}
			if val, ok = m[part]; !ok {
				t.fail(path, "$include %q: key %q not found in %s", s, sel, file)
				return nil
			}
		}
	}
	if _, isText := val.(string); isText && sel == "" {
		return val // plain text files are taken verbatim
	}
	return t.transform(val, path, filepath.Dir(full), depth+1)
}

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// substitute replaces ${VAR} with the variable's value and $${ with a
// literal ${, as Backstage's env substitution does.
func (t *transformer) substitute(s, path string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "${") {
			end := strings.IndexByte(s[i+2:], '}')
			if end >= 0 && !strings.Contains(s[i+2:i+2+end], "{") {
				name := strings.TrimSpace(s[i+2 : i+2+end])
				if name == "" {
					t.fail(path, "empty environment variable reference \"${}\"")
				} else if val, ok := t.opts.lookup(name); ok {
					b.WriteString(val)
				} else {
					t.failUnset(path, name)
				}
				i += 2 + end + 1
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// envOverrides builds the tree of APP_CONFIG_* overrides. Values are never
// put in problem messages (they may be secrets).
func envOverrides(environ []string) (map[string]any, Problems) {
	type kv struct{ name, value string }
	var vars []kv
	for _, e := range environ {
		name, value, ok := strings.Cut(e, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		vars = append(vars, kv{name, value})
	}
	sort.SliceStable(vars, func(i, j int) bool { return vars[i].name < vars[j].name })
	tree := map[string]any{}
	var ps Problems
	for _, v := range vars {
		parts := strings.Split(strings.TrimPrefix(v.name, envPrefix), "_")
		bad := false
		for _, p := range parts {
			if p == "" {
				bad = true
			}
		}
		if bad {
			ps = append(ps, Problem{Path: v.name, Message: "invalid config key: empty part between underscores"})
			continue
		}
		var val any
		if err := json.Unmarshal([]byte(v.value), &val); err != nil {
			val = v.value
		}
		cur := tree
		for i, p := range parts[:len(parts)-1] {
			next, exists := cur[p]
			if !exists {
				m := map[string]any{}
				cur[p] = m
				cur = m
				continue
			}
			m, ok := next.(map[string]any)
			if !ok {
				ps = append(ps, Problem{Path: v.name, Message: fmt.Sprintf("cannot set %s: %s is already set to a non-map value by another APP_CONFIG_ variable", strings.Join(parts, "."), strings.Join(parts[:i+1], "."))})
				bad = true
				break
			}
			cur = m
		}
		if bad {
			continue
		}
		last := parts[len(parts)-1]
		if _, isMap := cur[last].(map[string]any); isMap {
			ps = append(ps, Problem{Path: v.name, Message: fmt.Sprintf("cannot set %s: other APP_CONFIG_ variables set keys below it", strings.Join(parts, "."))})
			continue
		}
		cur[last] = plainvalue.Copy(val)
	}
	return tree, ps
}

// stringKeys renders the keys of a YAML map[any]any with fmt.Sprint.
func stringKeys(m map[any]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[fmt.Sprint(k)] = v
	}
	return out
}

// describe renders a value for a type error. Strings are quoted unless
// secret; other kinds are named.
func describe(v any, secret bool) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if secret {
			return "a string"
		}
		if len(x) > 60 {
			x = x[:60] + "…"
		}
		return strconv.Quote(x)
	case bool:
		if secret {
			return "a boolean"
		}
		return strconv.FormatBool(x)
	case map[string]any, map[any]any:
		return "a map"
	case []any:
		return "a list"
	}
	if f, ok := toFloat(v); ok {
		if secret {
			return "a number"
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprintf("a %T", v)
}
