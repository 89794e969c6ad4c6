// Package config loads a Backstage app-config (the same files a Backstage
// backend reads) into the typed Config Gatehouse runs from.
//
// Loading goes through these steps, in order (load.go):
//
//   - Files: each app-config file is parsed as YAML; an empty file is an
//     empty map.
//   - Substitution, per file and before merging: ${VAR} in strings ($${
//     for a literal ${), and the one-key maps {$env: VAR}, {$file: path}
//     and {$include: path[#dot.path]}, paths relative to the file's
//     directory. An unset variable is a problem only at a key Gatehouse
//     reads, since a shared app-config names variables for plugins
//     Gatehouse never runs.
//   - Merging: files merge in the order given, later wins; maps merge
//     deeply, lists and scalars replace (koanf).
//   - Overrides: APP_CONFIG_a_b_c=value sets a.b.c after all files, the
//     value parsed as JSON when it is JSON, else kept as a string.
//   - Decoding: the merged tree becomes Config. Each provider is read per
//     environment (auth.providers.<id>.<env>), auth.environment picking the
//     one in use; the backend.* HTTP settings, the database, the catalog
//     locations, the WebAssembly modules and the ops listener each have
//     their file here.
//
// What it guarantees: a Config comes back only when nothing is wrong.
// Otherwise the error is a Problems listing every problem found in one
// run, sorted by key path ("auth.providers.oidc.development.clientId: ...",
// or "file.yaml:12" for a YAML syntax error), so an operator fixes them all
// at once. Messages quote only values read at keys that are not secret,
// and never an APP_CONFIG_ value. LoadPartial
// also returns what could be decoded, for `gatehouse check`. Nothing in the
// package touches the network.
package config
