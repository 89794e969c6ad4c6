// The Backstage CLI signs in to Gatehouse (spec backstage-oidc-provider.md
// §2.14); driven by test/e2e/mcp_interop_test.go.
//
// Part 1 runs the real published CLI module (@backstage/cli-module-auth,
// pinned in package-lock.json) headless: `auth login --no-browser` (its
// own listener on 127.0.0.1:8055), the consent played as the Backstage
// frontend plays it, `auth print-token` after its stored expiry is moved
// into the past (the refresh, @backstage/cli-node's CliAuth), and
// `auth logout`. Its requests are read back from the fetch trace
// (lib/preload.cjs): the CLI ignores its logout's answer, the test does
// not.
//
// Part 2 replays the request sequence spec §2.14 documents for the CLI
// versions in Backstage's repository, which send no client_id at all
// (token exchange, refresh, logout): JSON bodies, 64-hex state, S256, the
// fixed redirect URI http://127.0.0.1:8055/callback.
//
// Environment:
//   GATEHOUSE_BACKEND_URL  backend.baseUrl (the auth plugin at /api/auth)
//   GATEHOUSE_USER_TOKEN   a Backstage user token of the signed-in user
//   GATEHOUSE_WANT_SUB     the user's entity ref
//   CLI_HOME               an empty directory: HOME and XDG dirs of the CLI
//
// The CLI's own fetches are traced to CLI_HOME/cli-fetch-trace.jsonl.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { consent, env, jwtPayload, listenCallback, postJSON, run, step } from './lib/flow.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const backend = env('GATEHOUSE_BACKEND_URL');
const userToken = env('GATEHOUSE_USER_TOKEN');
const wantSub = env('GATEHOUSE_WANT_SUB');
const home = env('CLI_HOME');
const authBase = `${backend}/api/auth`;
const cliClientId = `${authBase}/.well-known/oauth-client/cli.json`;
const redirectUri = 'http://127.0.0.1:8055/callback';
const cliBin = require.resolve('@backstage/cli-module-auth/bin/backstage-cli-module-auth');
const cliEnv = {
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: path.join(home, 'config'),
  XDG_DATA_HOME: path.join(home, 'data'),
  NODE_OPTIONS: `--require ${path.join(here, 'lib', 'preload.cjs')}`,
  GATEHOUSE_FETCH_TRACE: path.join(home, 'cli-fetch-trace.jsonl'),
};
const traceFile = cliEnv.GATEHOUSE_FETCH_TRACE;

// cli runs `backstage-cli-module-auth auth <args>`; onStdout sees its
// output as it comes. It resolves with the exit code and the output.
function cli(args, onStdout) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, 'auth', ...args], { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; onStdout?.(out); });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? signal, out, err }); });
  });
}

// traced reads the fetch trace records from index on.
function traced(from = 0) {
  if (!fs.existsSync(traceFile)) return [];
  return fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).slice(from);
}

// only returns the single traced request to url.
function only(records, method, url) {
  const hits = records.filter((r) => r.method === method && r.url.split('?')[0] === url);
  assert.equal(hits.length, 1, `one ${method} ${url} in ${JSON.stringify(records)}`);
  return hits[0];
}

// instance is the name `auth login --backend-url` gives the backend: its host.
const instance = new URL(backend).host;

// secret reads a token the CLI stored in its file store.
function secret(account) {
  const service = encodeURIComponent(`backstage-cli:auth-instance:${instance}`);
  return fs.readFileSync(path.join(home, 'data', 'backstage-cli', 'auth-secrets', service, `${account}.secret`), 'utf8');
}

// checkAuthorizeURL checks the CLI's authorization request (§2.14).
function checkAuthorizeURL(raw) {
  const u = new URL(raw);
  assert.equal(u.origin + u.pathname, `${authBase}/v1/authorize`);
  const q = Object.fromEntries(u.searchParams);
  assert.deepEqual(Object.keys(q), ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method']);
  assert.equal(q.client_id, cliClientId);
  assert.equal(q.redirect_uri, redirectUri);
  assert.equal(q.response_type, 'code');
  assert.equal(q.scope, 'openid offline_access');
  assert.match(q.state, /^[0-9a-f]{64}$/);
  assert.equal(q.code_challenge_method, 'S256');
  return q;
}

// refreshFails checks that the refresh token no longer works.
async function refreshFails(refreshToken, why) {
  const r = await postJSON(`${authBase}/v1/token`, { grant_type: 'refresh_token', refresh_token: refreshToken });
  assert.equal(r.status, 400, `${why}: refresh answered ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, 'invalid_grant', `${why}: ${JSON.stringify(r.body)}`);
}

async function realCLI() {
  const version = require('@backstage/cli-module-auth/package.json').version;
  const nodeVersion = require('@backstage/cli-node/package.json').version;
  step('cli', `@backstage/cli-module-auth ${version}, @backstage/cli-node ${nodeVersion}`);

  // login: the CLI prints the authorization URL instead of opening a browser.
  let opened;
  const gotURL = new Promise((resolve) => { opened = resolve; });
  const login = cli(['login', '--backend-url', backend, '--no-browser'], (out) => {
    const m = /Open this URL to continue: (\S+)/.exec(out);
    if (m) opened(m[1]);
  });
  // An exit before the URL was printed is a failure; one after it is the
  // end of the login, awaited below.
  const first = await Promise.race([gotURL.then((url) => ({ url })), login.then((exited) => ({ exited }))]);
  if (!first.url) throw new Error(`auth login exited ${first.exited.code} before printing a URL: ${first.exited.out} ${first.exited.err}`);
  const url = first.url;
  checkAuthorizeURL(url);
  const { redirectUrl } = await consent({ authorizationUrl: url, authBase, userToken, want: { clientId: cliClientId, clientName: 'Backstage CLI', redirectUri } });
  assert.ok(redirectUrl.startsWith(`${redirectUri}?code=`), `redirectUrl ${redirectUrl.split('?')[0]}`);
  const done = await login;
  assert.equal(done.code, 0, `auth login: ${done.out} ${done.err}`);
  assert.match(done.out, /Login successful/);
  let records = traced();
  assert.equal(only(records, 'GET', cliClientId).status, 200, 'cli.json');
  const exchange = only(records, 'POST', `${authBase}/v1/token`);
  assert.equal(exchange.status, 200, `token exchange ${JSON.stringify(exchange)}`);
  assert.match(exchange.contentType, /application\/json/);
  step('cli login', `GET cli.json 200; authorize; consent; POST /v1/token JSON {${exchange.fields}} 200`);
  const firstAccess = secret('accessToken');
  const firstRefresh = secret('refreshToken');
  assert.equal(jwtPayload(firstAccess).sub, wantSub);

  // print-token refreshes when the stored expiry is within 2 minutes.
  const instances = path.join(home, 'config', 'backstage-cli', 'auth-instances.yaml');
  fs.writeFileSync(instances, fs.readFileSync(instances, 'utf8').replace(/accessTokenExpiresAt: \d+/, 'accessTokenExpiresAt: 0'));
  const mark = traced().length;
  const printed = await cli(['print-token', '--instance', instance]);
  assert.equal(printed.code, 0, `auth print-token: ${printed.out} ${printed.err}`);
  const refresh = only(traced(mark), 'POST', `${authBase}/v1/token`);
  assert.equal(refresh.status, 200, `refresh ${JSON.stringify(refresh)}`);
  assert.deepEqual(refresh.fields, ['grant_type', 'refresh_token'], 'the CLI refreshes with {grant_type, refresh_token}');
  const access = printed.out.trim();
  assert.notEqual(access, firstAccess, 'a new access token');
  assert.equal(jwtPayload(access).sub, wantSub);
  const rotated = secret('refreshToken');
  assert.notEqual(rotated, firstRefresh, 'the refresh token rotated');
  step('cli refresh', `POST /v1/token JSON {${refresh.fields}} 200; rotated`);

  // logout revokes the stored refresh token; the session must be gone.
  const mark2 = traced().length;
  // Without --instance, logout asks which instance on the terminal.
  const out = await cli(['logout', '--instance', instance]);
  assert.equal(out.code, 0, `auth logout: ${out.out} ${out.err}`);
  assert.match(out.out, /Logged out/);
  const logout = only(traced(mark2), 'POST', `${authBase}/v1/revoke`);
  assert.equal(logout.status, 200, `logout's revoke: ${JSON.stringify(logout)}`);
  await refreshFails(rotated, 'after the CLI logout');
  step('cli logout', `POST /v1/revoke JSON {${logout.fields}} 200; the refresh session is gone`);
}

// specReplay is §2.14's sequence, with no client_id anywhere but authorize.
async function specReplay() {
  const doc = await fetch(cliClientId);
  assert.equal(doc.status, 200, 'cli.json');
  const cliDoc = await doc.json();
  assert.equal(cliDoc.client_id, cliClientId);
  assert.ok(cliDoc.redirect_uris.includes(redirectUri));
  const callback = await listenCallback(8055, '/callback');
  try {
    const verifier = randomBytes(48).toString('base64url');
    const state = randomBytes(32).toString('hex');
    const u = new URL(`${authBase}/v1/authorize`);
    for (const [k, v] of Object.entries({
      client_id: cliClientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid offline_access', state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    })) u.searchParams.set(k, v);
    checkAuthorizeURL(u.toString());
    await consent({ authorizationUrl: u.toString(), authBase, userToken, want: { clientId: cliClientId, redirectUri } });
    const back = await callback.next();
    assert.equal(back.state, state);
    assert.equal(back.iss, authBase);

    const tok = await postJSON(`${authBase}/v1/token`, { grant_type: 'authorization_code', code: back.code, redirect_uri: redirectUri, code_verifier: verifier });
    assert.equal(tok.status, 200, `exchange without client_id: ${JSON.stringify(tok.body)}`);
    assert.equal(tok.headers.get('cache-control'), 'no-store');
    assert.ok(tok.body.expires_in > 0 && tok.body.refresh_token && tok.body.access_token, JSON.stringify(Object.keys(tok.body)));
    assert.equal(jwtPayload(tok.body.access_token).sub, wantSub);

    const ref = await postJSON(`${authBase}/v1/token`, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token });
    assert.equal(ref.status, 200, `refresh: ${JSON.stringify(ref.body)}`);
    for (const k of ['access_token', 'token_type', 'expires_in']) assert.ok(ref.body[k], `refresh answer has ${k}`);
    assert.ok(ref.body.expires_in > 0);
    assert.ok(ref.body.refresh_token && ref.body.refresh_token !== tok.body.refresh_token, 'rotated');

    const rev = await postJSON(`${authBase}/v1/revoke`, { token: ref.body.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(rev.status, 200, `logout without client_id: ${rev.status} ${JSON.stringify(rev.body)}`);
    await refreshFails(ref.body.refresh_token, 'after the §2.14 logout');
    step('spec 2.14 replay', 'exchange, refresh and revoke without client_id: 200, 200, 200; the refresh session is gone');
  } finally {
    await callback.close();
  }
}

run(async () => {
  await realCLI();
  await specReplay();
});
