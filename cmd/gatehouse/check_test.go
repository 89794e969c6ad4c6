package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckReportsEveryStage: problems found while loading the config
// (a required key missing, a removed option) and problems found while
// wiring it (a resolver that does not exist) come out of one run of
// `gatehouse check`, each with its key path, and check exits 1.
func TestCheckReportsEveryStage(t *testing.T) {
	code, out := checkYAML(t, `
auth:
  session:
    secret: a-session-secret-of-enough-length-0123456789
  providers:
    vcfsso:
      development:
        clientId: gatehouse
        clientSecret: s3cret-client
        scope: openid profile
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: noSuchResolver
`)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"auth.providers.vcfsso.development.metadataUrl: required",
		`auth.providers.vcfsso.development.scope: The vcfsso provider no longer supports the "scope" configuration option`,
		"auth.providers.vcfsso.development.signIn.resolvers[1]: ",
		"noSuchResolver",
		"3 problem(s) found",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret-client") {
		t.Errorf("a secret in the output:\n%s", out)
	}
}

// TestCheckReportsOAuthServerTypos: a misspelt key under the authorization
// server's blocks (issue 14) is reported by `gatehouse check` with its key
// path and a hint, as is a malformed allowlist pattern.
func TestCheckReportsOAuthServerTypos(t *testing.T) {
	code, out := checkYAML(t, `
auth:
  session: {secret: s}
  clientIdMetadataDocuments:
    enabled: true
    allowedClientIdPatterns: ['claude.ai/*']
  experimentalDynamicClientRegistration:
    enabeld: true
  experimentalRefreshToken:
    enabled: true
    maxTokenPerUser: 5
gatehouse:
  oauth:
    allowPlainPKCE: true
`)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		`auth.clientIdMetadataDocuments.allowedClientIdPatterns[0]: invalid URL pattern "claude.ai/*", an explicit protocol is required`,
		`auth.experimentalDynamicClientRegistration.enabeld: unknown key (did you mean "enabled"?)`,
		`auth.experimentalRefreshToken.maxTokenPerUser: unknown key (did you mean "maxTokensPerUser"?)`,
		`gatehouse.oauth.allowPlainPKCE: unknown key (did you mean "allowPlainPkce"?)`,
		"4 problem(s) found",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// checkYAML runs `gatehouse check` on app.baseUrl and backend.baseUrl
// followed by yaml, returning the exit code and stderr.
func checkYAML(t *testing.T, yaml string) (int, string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "app-config.yaml")
	base := "app:\n  baseUrl: http://localhost:3000\nbackend:\n  baseUrl: http://localhost:7007\n"
	if err := os.WriteFile(cfg, []byte(base+strings.TrimPrefix(yaml, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"check", "--config", cfg}, &stdout, &stderr)
	return code, stderr.String()
}
