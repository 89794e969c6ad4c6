// An MCP client built on the official MCP TypeScript SDK signs a user in
// through Gatehouse's OAuth authorization server and calls a real MCP
// server with the token; driven by test/e2e/mcp_interop_test.go.
//
// The MCP server (McpServer over Streamable HTTP, in this process) serves
// RFC 9728 protected-resource metadata naming Gatehouse as its
// authorization server and verifies bearer tokens against Gatehouse's
// JWKS (issuer, audience = its own resource URL, typ). The client is the
// SDK's own: StreamableHTTPClientTransport with an OAuthClientProvider,
// so discovery, registration (DCR) or the URL client id (CIMD), PKCE,
// state, resource, the code exchange and the refresh are the SDK's
// auth() orchestrator. The consent page is played as the Backstage
// frontend plays it (lib/flow.mjs), approved and then, for a second
// authorization, cancelled; revocation is plain RFC 7009.
//
// Environment:
//   GATEHOUSE_AUTH_URL    <A>, the auth plugin's base URL (…/api/auth)
//   GATEHOUSE_USER_TOKEN  a Backstage user token of the signed-in user
//   GATEHOUSE_WANT_SUB    the user's entity ref, the token's sub
//   MCP_CLIENT            dcr | cimd
//   MCP_CIMD_CERT, MCP_CIMD_KEY  (cimd) PEM files of a certificate for
//                         127.0.0.1 from the test CA Gatehouse trusts; the
//                         client metadata document is served with them
import https from 'node:https';
import http from 'node:http';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  auth,
  discoverAuthorizationServerMetadata,
  refreshAuthorization,
  UnauthorizedError,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { InvalidGrantError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';

import { consent, env, jwtPayload, listenCallback, run, step } from './lib/flow.mjs';

const authBase = env('GATEHOUSE_AUTH_URL');
const userToken = env('GATEHOUSE_USER_TOKEN');
const wantSub = env('GATEHOUSE_WANT_SUB');
const mode = env('MCP_CLIENT');
const scope = 'openid offline_access';

// listen starts server on an ephemeral loopback port and returns its origin.
async function listen(server, scheme) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return `${scheme}://127.0.0.1:${server.address().port}`;
}

// readBody reads a JSON request body (undefined when empty).
async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

// startMcpServer starts the protected MCP server: a whoami tool that
// answers with the verified token's subject.
async function startMcpServer() {
  const jwks = createRemoteJWKSet(new URL(`${authBase}/.well-known/jwks.json`));
  const server = http.createServer();
  const origin = await listen(server, 'http');
  const resource = `${origin}/mcp`;
  const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  const seen = { unauthorized: 0, verified: [] };

  // verify is the resource server's token check; it returns the SDK's AuthInfo.
  async function verify(req) {
    const m = /^Bearer (\S+)$/i.exec(req.headers.authorization || '');
    if (!m) throw new Error('no bearer token');
    const { payload } = await jwtVerify(m[1], jwks, { issuer: authBase, audience: resource, typ: 'vnd.backstage.user' });
    seen.verified.push(payload);
    return { token: m[1], clientId: 'unknown', scopes: [], expiresAt: payload.exp, resource: new URL(resource), extra: { sub: payload.sub } };
  }

  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url, origin);
      if (url.pathname === '/.well-known/oauth-protected-resource/mcp' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ resource, authorization_servers: [authBase], scopes_supported: scope.split(' '), bearer_methods_supported: ['header'] }));
        return;
      }
      if (url.pathname !== '/mcp') {
        res.writeHead(404).end();
        return;
      }
      try {
        req.auth = await verify(req);
      } catch (err) {
        seen.unauthorized++;
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer error="invalid_token", error_description="${String(err.message).replace(/"/g, "'")}", resource_metadata="${metadataUrl}"`,
        });
        res.end(JSON.stringify({ error: 'invalid_token', error_description: String(err.message) }));
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      // Stateless Streamable HTTP: a server and a transport per request.
      const mcp = new McpServer({ name: 'gatehouse-interop', version: '1.0.0' });
      mcp.registerTool('whoami', { description: 'The signed-in user' }, async (extra) => ({
        content: [{ type: 'text', text: String(extra.authInfo?.extra?.sub) }],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => { transport.close(); mcp.close(); });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, await readBody(req));
    } catch (err) {
      console.error('mcp server:', err);
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  return { resource, metadataUrl, seen, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

// startClientDocument serves the CIMD client's metadata document over
// https on loopback; its registered redirect URI has no port (RFC 8252
// §7.3: any loopback port is accepted).
async function startClientDocument() {
  const fetches = [];
  let doc;
  const server = https.createServer({ cert: fs.readFileSync(env('MCP_CIMD_CERT')), key: fs.readFileSync(env('MCP_CIMD_KEY')) }, (req, res) => {
    fetches.push({ path: req.url, accept: req.headers.accept });
    if (req.url !== '/mcp-interop/client.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(JSON.stringify(doc));
  });
  const origin = await listen(server, 'https');
  const clientId = `${origin}/mcp-interop/client.json`;
  doc = {
    client_id: clientId,
    client_name: 'Gatehouse interop MCP client (CIMD)',
    redirect_uris: ['http://127.0.0.1/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope,
  };
  return { clientId, fetches, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

// Provider is the SDK's OAuthClientProvider, kept in memory. Instead of
// opening a browser it records the authorization URL.
class Provider {
  constructor(redirectUrl, clientMetadataUrl) {
    this._redirectUrl = redirectUrl;
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
    this.authorizations = [];
  }
  get redirectUrl() { return this._redirectUrl; }
  get clientMetadata() {
    return {
      client_name: `Gatehouse interop MCP client (${mode})`,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope,
    };
  }
  state() { return (this.lastState = randomBytes(16).toString('hex')); }
  clientInformation() { return this._client; }
  saveClientInformation(info) { this._client = info; }
  tokens() { return this._tokens; }
  saveTokens(tokens) { this._tokens = tokens; }
  redirectToAuthorization(url) { this.authorizations.push(new URL(url)); }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
  invalidateCredentials(scope) { this.invalidated = (this.invalidated || []).concat(scope); }
}

// whoami connects a fresh SDK client with provider's token and calls the tool.
async function whoami(resource, provider) {
  const client = new Client({ name: 'gatehouse-interop-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return result.content[0].text;
  } finally {
    await client.close();
  }
}

// revoke is plain RFC 7009: a form POST to the revocation endpoint with
// the client's credentials (HTTP Basic for a confidential client, the
// client_id alone for a public one).
async function revoke(endpoint, client, token) {
  const form = new URLSearchParams({ token, token_type_hint: 'refresh_token' });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.client_secret) {
    const enc = encodeURIComponent;
    headers.authorization = 'Basic ' + Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64');
  } else {
    form.set('client_id', client.client_id);
  }
  const res = await fetch(endpoint, { method: 'POST', headers, body: form });
  return { status: res.status, body: await res.text() };
}

run(async () => {
  const sdkPackage = new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url);
  const sdkVersion = JSON.parse(fs.readFileSync(sdkPackage, 'utf8')).version;
  step('sdk', `@modelcontextprotocol/sdk ${sdkVersion}, client ${mode}`);

  // 1. Discovery, as the SDK does it (RFC 8414 path insertion first, then
  // OpenID discovery), and the OpenID document under <A>.
  const metadata = await discoverAuthorizationServerMetadata(authBase);
  assert.ok(metadata, 'no authorization server metadata found');
  assert.equal(metadata.issuer, authBase, 'issuer');
  for (const k of ['authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'jwks_uri']) {
    assert.ok(String(metadata[k]).startsWith(authBase + '/'), `${k} = ${metadata[k]}`);
  }
  assert.deepEqual(metadata.code_challenge_methods_supported, ['S256'], 'only S256 is advertised');
  assert.equal(metadata.authorization_response_iss_parameter_supported, true, 'RFC 9207 advertised');
  assert.ok(metadata.grant_types_supported.includes('refresh_token'), 'refresh_token grant advertised');
  if (mode === 'dcr') assert.ok(metadata.registration_endpoint, 'registration_endpoint advertised');
  if (mode === 'cimd') assert.equal(metadata.client_id_metadata_document_supported, true, 'CIMD advertised');
  const oidc = await (await fetch(`${authBase}/.well-known/openid-configuration`)).json();
  assert.equal(oidc.issuer, authBase, 'OpenID configuration issuer');
  assert.equal(oidc.token_endpoint, metadata.token_endpoint, 'both documents name one token endpoint');
  step('discovery', `issuer ${metadata.issuer}; ${Object.keys(metadata).length} members`);

  const mcpServer = await startMcpServer();
  const callback = await listenCallback();
  const document = mode === 'cimd' ? await startClientDocument() : undefined;
  const provider = new Provider(callback.url, document?.clientId);
  const problems = [];
  try {
    // 2. The SDK client meets a 401 with resource_metadata, discovers
    // Gatehouse through the protected-resource metadata, registers (DCR)
    // or uses its URL as client_id (CIMD), and starts the authorization.
    const first = new Client({ name: 'gatehouse-interop-client', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(mcpServer.resource), { authProvider: provider });
    await assert.rejects(first.connect(transport), UnauthorizedError, 'the first connect needs an authorization');
    assert.equal(mcpServer.seen.unauthorized, 1, 'one 401 from the MCP server');
    const client = provider.clientInformation();
    if (mode === 'dcr') {
      assert.match(client.client_id, /^[0-9a-f-]{36}$/, 'DCR client_id');
      assert.ok(client.client_secret, 'a DCR client is confidential: it got a secret');
      assert.equal(client.token_endpoint_auth_method, 'client_secret_basic');
      assert.equal(client.client_secret_expires_at, 0, 'client_secret_expires_at');
      assert.ok(client.client_id_issued_at > 0, 'client_id_issued_at');
      step('registration', `client ${client.client_id}, ${client.token_endpoint_auth_method}`);
    } else {
      assert.equal(client.client_id, document.clientId, 'the SDK used its metadata URL as client_id');
      step('cimd client', client.client_id);
    }
    assert.equal(provider.authorizations.length, 1, 'one authorization started');
    const authz = provider.authorizations[0];
    const q = Object.fromEntries(authz.searchParams);
    assert.equal(authz.origin + authz.pathname, metadata.authorization_endpoint);
    assert.equal(q.client_id, client.client_id);
    assert.equal(q.redirect_uri, callback.url);
    assert.equal(q.response_type, 'code');
    assert.equal(q.code_challenge_method, 'S256');
    assert.match(q.code_challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.state, provider.lastState);
    assert.equal(q.resource, mcpServer.resource, 'RFC 8707 resource');
    assert.equal(q.scope, scope);
    step('authorize', `params ${[...authz.searchParams.keys()].join(',')}`);

    // 3. Consent, as the Backstage frontend gives it.
    const { session, redirectUrl } = await consent({
      authorizationUrl: authz.toString(), authBase, userToken,
      want: { clientId: client.client_id, redirectUri: callback.url, scope },
    });
    const back = await callback.next();
    assert.deepEqual(Object.keys(back), ['code', 'state', 'iss'], `redirect parameters of ${redirectUrl.replace(/code=[^&]+/, 'code=…')}`);
    assert.equal(back.state, provider.lastState, 'state came back');
    assert.equal(back.iss, authBase, 'RFC 9207 iss');
    assert.match(back.code, /^[A-Za-z0-9_-]{43}$/, 'code format');
    step('consent', `session ${session.id} shown as "${session.clientName}", approved; redirect carried code, state, iss`);

    // 4. The SDK exchanges the code (PKCE verifier, resource, client auth).
    await transport.finishAuth(back.code);
    const issued = provider.tokens();
    assert.equal(issued.token_type.toLowerCase(), 'bearer');
    assert.ok(issued.expires_in > 0, 'expires_in');
    assert.equal(issued.scope, scope, 'granted scope');
    assert.match(issued.refresh_token, /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/, 'refresh token format');
    const claims = jwtPayload(issued.access_token);
    assert.equal(claims.sub, wantSub);
    assert.deepEqual(claims.aud, ['backstage', mcpServer.resource], 'aud of an access token for a resource');
    assert.equal(claims.exp - claims.iat, issued.expires_in, 'expires_in is the real lifetime');
    step('token', `expires_in ${issued.expires_in}, scope "${issued.scope}", aud ${JSON.stringify(claims.aud)}`);

    // 5. The MCP server accepts it.
    assert.equal(await whoami(mcpServer.resource, provider), wantSub);
    step('mcp call', `whoami = ${wantSub} (token verified against Gatehouse's JWKS)`);

    // 6. Refresh, by the SDK's orchestrator (stored refresh token).
    const before = provider.tokens();
    assert.equal(await auth(provider, { serverUrl: new URL(mcpServer.resource) }), 'AUTHORIZED', 'auth() refreshed');
    assert.equal(provider.authorizations.length, 1, 'the refresh needed no new authorization');
    assert.equal(provider.invalidated, undefined, 'the SDK invalidated nothing');
    const refreshed = provider.tokens();
    assert.notEqual(refreshed.refresh_token, before.refresh_token, 'the refresh token rotated');
    assert.equal(refreshed.refresh_token.split('.')[0], before.refresh_token.split('.')[0], 'same refresh session');
    assert.notEqual(refreshed.access_token, before.access_token);
    // A wrong audience is recorded and the flow goes on to revocation;
    // the script fails at the end.
    const aud = jwtPayload(refreshed.access_token).aud;
    if (isDeepStrictEqual(aud, ['backstage', mcpServer.resource])) {
      assert.equal(await whoami(mcpServer.resource, provider), wantSub);
      step('refresh', 'rotated; the new access token works at the MCP server');
    } else {
      problems.push(`the refreshed access token's aud is ${JSON.stringify(aud)}, not ["backstage", "${mcpServer.resource}"] ` +
        'although the refresh request named that resource (RFC 8707) and the grant was for it: the MCP server refuses the token');
      step('refresh', `rotated, BUT aud ${JSON.stringify(aud)}`);
    }

    // 7. Revocation by plain RFC 7009, then the refresh fails.
    const revoked = await revoke(metadata.revocation_endpoint, client, refreshed.refresh_token);
    assert.equal(revoked.status, 200, `revoke: ${revoked.status} ${revoked.body}`);
    assert.equal(revoked.body, '', 'revoke answers an empty body');
    await assert.rejects(
      refreshAuthorization(authBase, { metadata, clientInformation: client, refreshToken: refreshed.refresh_token, resource: new URL(mcpServer.resource) }),
      InvalidGrantError,
      'a refresh with the revoked token',
    );
    step('revoke', `200 (${client.client_secret ? 'Basic' : 'client_id'}); a refresh with it now fails with invalid_grant`);

    // 8. A new authorization, cancelled on the consent page: the client's
    // redirect carries the error, its state and iss.
    provider.saveTokens(undefined);
    assert.equal(await auth(provider, { serverUrl: new URL(mcpServer.resource) }), 'REDIRECT', 'auth() without tokens');
    assert.equal(provider.authorizations.length, 2, 'a second authorization started');
    await consent({ authorizationUrl: provider.authorizations[1].toString(), authBase, userToken, reject: true });
    const denied = await callback.next();
    assert.deepEqual(Object.keys(denied), ['error', 'error_description', 'state', 'iss'], 'reject redirect parameters');
    assert.deepEqual(denied, { error: 'access_denied', error_description: 'User denied the request', state: provider.lastState, iss: authBase });
    step('cancel', 'a second authorization cancelled at consent: error=access_denied, state, iss');

    if (document) {
      assert.ok(document.fetches.length >= 1, 'Gatehouse fetched the client metadata document');
      for (const f of document.fetches) assert.equal(f.accept, 'application/json');
      step('cimd fetches', `${document.fetches.length} (Accept: application/json)`);
    }
    assert.deepEqual(problems, [], 'problems found on the way');
  } finally {
    await Promise.all([mcpServer.close(), callback.close(), document?.close()]);
  }
});
