// Package cimd is the Client ID Metadata Document client: is a client_id a
// CIMD URL, does it match the allowlist, fetch and validate its document.
//
// It is the foundation of the OAuth authorization server's CIMD support and
// follows Backstage's auth-backend 0.30.1 (spec backstage-oidc-provider.md
// §3) where real clients depend on it, and is stricter where Backstage is
// weak (§6.8–6.11):
//
//   - [ValidateClientIDURL] and [IsCIMDURL] decide whether a client_id is a
//     CIMD URL, with Backstage's rules and order (§3.1).
//   - [CompilePattern] and [Allowlist] match URLs per component (§3.2);
//     [DefaultClientIDPatterns], [DefaultRedirectURIPatterns] and
//     [DefaultDCRRedirectURIPatterns] are Backstage's defaults, kept here
//     only.
//   - [Client.AllowsRedirectURI] applies RFC 8252's loopback-port rule with
//     exact scheme, host, path and query matching (§3.5, §6.11).
//   - [Fetcher] fetches documents (10 s, 64 KiB, no redirects) and refuses
//     non-public addresses at connect time, in the dialer's Control hook,
//     so DNS rebinding cannot bypass the check; it caches documents for
//     their Cache-Control max-age, capped at five minutes (§3.3, §6.8–6.9).
//   - [ParseDocument] validates a document (§3.4) and enforces its
//     metadata: client_id equals the URL, redirect_uris required,
//     grant_types ⊆ {authorization_code, refresh_token}, response_types ⊆
//     {code}, token_endpoint_auth_method none (§6.10).
package cimd
