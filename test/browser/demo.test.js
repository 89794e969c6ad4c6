// The demo (cmd/gatehouse-dev) in a real browser: Debian's Chromium, driven by
// playwright-core, through the popup flow (both providers), a reload that
// gets the session back through /refresh, sign-out, the redirect flow, and
// the consent page an MCP client or the Backstage CLI sends the user to.
//
//   make test-browser        (builds bin/gatehouse-dev, installs playwright-core)
//
// GATEHOUSE_DEV_BIN and CHROMIUM override the binary and the browser.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { chromium } = require('playwright-core');

const repo = path.resolve(__dirname, '..', '..');
const bin = process.env.GATEHOUSE_DEV_BIN || path.join(repo, 'bin', 'gatehouse-dev');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = path.join(__dirname, 'artifacts');

// serverLog is stdout (the banner, with the demo passwords) and stderr;
// errLog is stderr alone: the log lines.
let server, serverLog = '', errLog = '', browser, appURL, idp;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitFor(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch (e) { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms; server log:\n${serverLog}`);
    if (server.exitCode !== null) throw new Error(`gatehouse-dev exited with ${server.exitCode}:\n${serverLog}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  // Free ports, so the test runs beside a `make run` on 7007.
  const [port, idpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  appURL = `http://localhost:${port}`;
  // The dev IdP on "localhost": Backstage's frontend (and Gatehouse)
  // follow an http logoutUrl only there.
  idp = `http://localhost:${idpPort}`;
  server = spawn(bin, ['--idp-addr', `localhost:${idpPort}`], {
    cwd: repo,
    env: {
      ...process.env,
      APP_CONFIG_app_baseUrl: appURL,
      APP_CONFIG_backend_baseUrl: appURL,
      APP_CONFIG_backend_listen_port: String(port),
      APP_CONFIG_auth_providers_vcfsso_development_metadataUrl: `${idp}/acs/t/CUSTOMER/`,
      APP_CONFIG_auth_providers_vmwareCloudServices_development_consoleEndpoint: idp,
      APP_CONFIG_gatehouse_metrics_listen: `127.0.0.1:${metricsPort}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', d => { serverLog += d; });
  server.stderr.on('data', d => { serverLog += d; errLog += d; });
  await waitFor(`${appURL}/readyz`, 30000);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    const exited = new Promise(r => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  fs.writeFileSync(path.join(artifacts, 'gatehouse-dev.log'), serverLog);
  // The demo's log (Gatehouse and its dev IdP) never holds a password, a
  // client or session secret, or a JWT.
  for (const secret of ['-dev-password', 'gatehouse-dev-client-secret', 'gatehouse-dev-session-secret', 'eyJ']) {
    assert.ok(!errLog.includes(secret), `the server logged ${secret}; see artifacts/gatehouse-dev.log`);
  }
  assert.match(errLog, /signed in/, 'no sign-in line in the log');
});

const who = page => page.textContent('#who');

// whoIs waits until the page shows a signed-in user and returns the text.
async function whoIs(page, ref) {
  await page.waitForFunction(r => document.getElementById('who').textContent.includes(r), ref, { timeout: 15000 })
    .catch(async e => { throw new Error(`page shows "${await who(page)}", want ${ref}: ${e.message}`); });
  return who(page);
}

// loginInPopup clicks a sign-in button and answers the dev IdP's form in
// the popup the page opens, as a user would.
async function loginInPopup(page, button, user) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click(button)]);
  await popup.waitForSelector('input[name=username]');
  await popup.fill('input[name=username]', user);
  await popup.fill('input[name=password]', `${user}-dev-password`);
  await Promise.all([popup.waitForEvent('close', { timeout: 15000 }), popup.click('button[value=login]')]);
}

async function ownership(page) {
  return JSON.parse(await page.textContent('#out')).identity.ownershipEntityRefs;
}

test('popup flow (VCF SSO), reload through /refresh, sign-out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appURL + '/');
  assert.equal(await who(page), 'Not signed in.');

  await loginInPopup(page, '#signin', 'alice');
  assert.match(await whoIs(page, 'user:default/alice'), /Signed in as user:default\/alice/);
  assert.deepEqual(await ownership(page), ['user:default/alice', 'group:default/team-a']);
  await page.screenshot({ path: path.join(artifacts, 'signed-in.png'), fullPage: true });

  // A reload gets the session back through /refresh and the cookie.
  const [refresh] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vcfsso/refresh')),
    page.reload(),
  ]);
  assert.equal(refresh.status(), 200);
  await whoIs(page, 'user:default/alice');
  assert.deepEqual(await ownership(page), ['user:default/alice', 'group:default/team-a']);

  // Sign out: the page follows the logoutUrl to the IdP's end-session
  // endpoint, which sends it back to app.baseUrl; the refresh cookie is
  // gone, so the page loads signed out.
  const endSession = await endSessionEndpoint();
  const back = waitForMainFrame(page, u => u.startsWith(appURL + '/'));
  const [logout, toIdP, again] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vcfsso/logout')),
    page.waitForRequest(r => r.url().startsWith(endSession + '?') && r.isNavigationRequest()),
    page.waitForResponse(r => r.url().includes('/api/auth/vcfsso/refresh')),
    page.click('#logout'),
  ]);
  assert.equal(logout.status(), 200);
  assert.ok(toIdP.url().includes('id_token_hint='), toIdP.url());
  await back;
  assert.equal(again.status(), 401);
  await page.waitForFunction(() => document.getElementById('who').textContent === 'Not signed in.');
  await context.close();
});

test('popup flow (VMware Cloud Services)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appURL + '/');
  await loginInPopup(page, '#signin-csp', 'alice');
  await whoIs(page, 'user:default/alice');
  assert.deepEqual(await ownership(page), ['user:default/alice', 'group:default/team-a']);
  // The reload refreshes through the provider of the session.
  const [refresh] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vmwareCloudServices/refresh')),
    page.reload(),
  ]);
  assert.equal(refresh.status(), 200);
  await whoIs(page, 'user:default/alice');

  // Sign out: Gatehouse asks the console's logout API (as CSP documents
  // it) for the logout URL, the page goes there and back to app.baseUrl,
  // and the next sign-in asks for the password again.
  const back = waitForMainFrame(page, u => u.startsWith(appURL + '/'));
  const [logout, toIdP] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vmwareCloudServices/logout')),
    page.waitForRequest(r => r.url().startsWith(`${idp}/csp/gateway/am/api/auth/logout?`) && r.isNavigationRequest()),
    page.click('#logout'),
  ]);
  assert.equal(logout.status(), 200);
  const u = new URL(toIdP.url());
  assert.match(u.searchParams.get('id_token_hint'), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(u.searchParams.get('post_logout_redirect_uri'), appURL);
  await back;
  await page.waitForFunction(() => document.getElementById('who').textContent === 'Not signed in.');
  await loginInPopup(page, '#signin-csp', 'alice');
  await whoIs(page, 'user:default/alice');
  await context.close();
});

test('a user who is not in the catalog is told so', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appURL + '/');
  await loginInPopup(page, '#signin', 'carol');
  await page.waitForFunction(() => document.getElementById('who').className === 'err');
  assert.match(await who(page), /unable to resolve user identity/);
  await context.close();
});

test('redirect flow', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appURL + '/');
  await Promise.all([page.waitForSelector('input[name=username]'), page.click('#redirect')]);
  await page.fill('input[name=username]', 'bob');
  await page.fill('input[name=password]', 'bob-dev-password');
  await Promise.all([page.waitForURL(u => u.href.startsWith(appURL + '/?signed-in=redirect')), page.click('button[value=login]')]);
  await whoIs(page, 'user:default/bob');
  assert.deepEqual(await ownership(page), ['user:default/bob', 'group:default/team-b']);
  await page.screenshot({ path: path.join(artifacts, 'signed-in-redirect.png'), fullPage: true });
  await context.close();
});

// endSessionEndpoint is the dev IdP's (VCF SSO style) end_session_endpoint,
// from its discovery document.
async function endSessionEndpoint() {
  const res = await fetch(`${idp}/acs/t/CUSTOMER/.well-known/openid-configuration`);
  const { end_session_endpoint: endpoint } = await res.json();
  assert.ok(endpoint && endpoint.startsWith(idp + '/'), `end_session_endpoint ${endpoint}`);
  return endpoint;
}

// waitForMainFrame resolves once the page's main frame has navigated to a
// URL that ok accepts (set it up before the navigation starts).
function waitForMainFrame(page, ok) {
  return page.waitForEvent('framenavigated', { predicate: f => f === page.mainFrame() && ok(f.url()), timeout: 15000 });
}

// The pinned @backstage/core-app-api, the first version whose
// DefaultAuthConnector.removeSession navigates to a logoutUrl (README,
// "Signing out of the IdP"). Its dist modules are plain ES modules with
// relative imports only, so the page imports them as they are.
const coreAppApi = path.join(__dirname, 'node_modules', '@backstage', 'core-app-api');
const coreAppApiLib = path.join(coreAppApi, 'dist', 'lib');

// withBackstageConnector serves core-app-api's dist/lib at
// <app>/__core-app-api/ and puts a DefaultAuthConnector for vcfsso on
// window.connector, configured as a Backstage app's vcfsso auth API would be.
async function withBackstageConnector(page) {
  await page.route(`${appURL}/__core-app-api/**`, route => {
    const rel = new URL(route.request().url()).pathname.slice('/__core-app-api/'.length);
    const file = path.join(coreAppApiLib, rel);
    if (!file.startsWith(coreAppApiLib + path.sep) || !fs.existsSync(file)) return route.fulfill({ status: 404 });
    return route.fulfill({ status: 200, contentType: 'text/javascript', body: fs.readFileSync(file) });
  });
  await page.evaluate(async () => {
    const { DefaultAuthConnector } = await import('/__core-app-api/AuthConnector/DefaultAuthConnector.esm.js');
    window.connector = new DefaultAuthConnector({
      configApi: { getOptionalBoolean: () => undefined },
      discoveryApi: { getBaseUrl: async () => `${window.location.origin}/api/auth` },
      environment: 'development',
      provider: { id: 'vcfsso', title: 'VCF SSO', icon: () => null },
      oauthRequestApi: { createAuthRequester: () => async () => { throw new Error('not used: instantPopup'); } },
    });
  });
}

// connectorSignIn opens the sign-in popup through the connector. With
// password it expects the IdP's form and fills it; without, it expects the
// IdP's SSO session to answer with no form. It returns the session.
async function connectorSignIn(page, user, password) {
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.evaluate(() => {
      window.signIn = window.connector.createSession({ scopes: new Set(['openid', 'profile', 'email']), instantPopup: true });
      window.signIn.catch(() => {});
    }),
  ]);
  if (password) {
    await popup.waitForSelector('input[name=password]');
    await popup.fill('input[name=username]', user);
    await popup.fill('input[name=password]', password);
    await Promise.all([popup.waitForEvent('close', { timeout: 15000 }), popup.click('button[value=login]')]);
  } else if (!popup.isClosed()) {
    await popup.waitForEvent('close', { timeout: 15000 });
  }
  return page.evaluate(() => window.signIn);
}

test('RP-initiated logout through Backstage core-app-api DefaultAuthConnector', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(coreAppApi, 'package.json'), 'utf8'));
  assert.equal(pkg.version, '1.20.0', 'test/browser pins @backstage/core-app-api 1.20.0');
  const endSession = await endSessionEndpoint();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appURL + '/');
  await withBackstageConnector(page);

  let session = await connectorSignIn(page, 'alice', 'alice-dev-password');
  assert.equal(session.backstageIdentity.identity.userEntityRef, 'user:default/alice');
  const names = async () => (await context.cookies(appURL + '/api/auth/vcfsso')).map(c => c.name);
  assert.ok((await names()).includes('vcfsso-id-token'), `cookies ${await names()}`);
  // The IdP has an SSO session: a second sign-in needs no password.
  session = await connectorSignIn(page, 'alice', null);
  assert.equal(session.backstageIdentity.identity.userEntityRef, 'user:default/alice');

  // Sign out with Backstage's own code: it POSTs /logout and follows the
  // logoutUrl to the IdP, which ends its session and sends the browser on
  // to app.baseUrl.
  const navigations = [];
  page.on('request', r => { if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigations.push(r.url()); });
  const back = waitForMainFrame(page, u => u.startsWith(appURL + '/'));
  const [logout] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vcfsso/logout')),
    page.evaluate(() => { window.connector.removeSession(); }),
  ]);
  assert.equal(logout.status(), 200);
  assert.match(logout.headers()['content-type'], /^application\/json/);
  await back;
  // The body of /logout is gone with the page that read it; the first
  // navigation is to the logoutUrl it carried, unchanged by the frontend.
  const logoutUrl = navigations[0];
  const u = new URL(logoutUrl);
  assert.equal(u.origin + u.pathname, endSession);
  assert.equal(u.searchParams.get('client_id'), 'gatehouse-dev');
  assert.equal(u.searchParams.get('post_logout_redirect_uri'), appURL);
  assert.match(u.searchParams.get('id_token_hint'), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.ok(u.searchParams.get('state').length >= 20);
  assert.ok(navigations.at(-1).startsWith(appURL + '/'), `navigations ${navigations}`);
  const left = await names();
  assert.ok(!left.some(n => n.startsWith('vcfsso-refresh-token') || n.startsWith('vcfsso-id-token')), `cookies after logout ${left}`);
  await page.screenshot({ path: path.join(artifacts, 'signed-out-rp-logout.png'), fullPage: true });

  // The IdP session is over: signing in again asks for the password.
  await withBackstageConnector(page);
  session = await connectorSignIn(page, 'alice', 'alice-dev-password');
  assert.equal(session.backstageIdentity.identity.userEntityRef, 'user:default/alice');
  await context.close();
});

// The CLI's loopback redirect (spec §2.14). Nothing listens there: the
// test answers it with page.route, so no fixed port is opened.
const cliCallback = 'http://127.0.0.1:8055/callback';

// startCLIAuthorization prepares the demo's "try it" (the Backstage CLI's
// authorization request), follows it to the consent page and returns the
// request's state and PKCE verifier.
async function startCLIAuthorization(page) {
  await page.route(`${cliCallback}**`, route => route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' }));
  await page.goto(appURL + '/');
  await page.click('#tryit');
  await page.waitForSelector('#tryit-link:not([hidden])');
  const href = await page.getAttribute('#tryit-link', 'href');
  const q = new URL(href).searchParams;
  assert.equal(q.get('client_id'), `${appURL}/api/auth/.well-known/oauth-client/cli.json`);
  assert.equal(q.get('redirect_uri'), cliCallback);
  assert.equal(q.get('code_challenge_method'), 'S256');
  const verifier = await page.getAttribute('#tryit-curl', 'data-verifier');
  // /v1/authorize answers 302 to <app.baseUrl>/oauth2/authorize/<id>.
  await Promise.all([page.waitForURL(u => u.href.startsWith(appURL + '/oauth2/authorize/')), page.click('#tryit-link')]);
  await page.waitForFunction(() => document.getElementById('who').textContent.startsWith('Not signed in'));
  return { state: q.get('state'), verifier };
}

// consentShown signs in on the consent page and waits for the request's
// details, as @backstage/plugin-auth's ConsentPage shows them.
async function consentShown(page) {
  await loginInPopup(page, '#signin', 'alice');
  await whoIs(page, 'user:default/alice');
  await page.waitForSelector('#consent-details:not([hidden])');
  assert.equal(await page.textContent('#consent-client-name'), 'Backstage CLI');
  assert.equal(await page.textContent('#consent-client-id'), `${appURL}/api/auth/.well-known/oauth-client/cli.json`);
  assert.equal(await page.textContent('#consent-redirect-uri'), cliCallback);
  assert.equal(await page.textContent('#consent-scope'), 'openid offline_access');
}

test('consent page: an MCP-style (CLI) authorization, approved, then the code exchanged', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { state, verifier } = await startCLIAuthorization(page);
  await consentShown(page);
  await page.screenshot({ path: path.join(artifacts, 'consent.png'), fullPage: true });
  const [approve] = await Promise.all([
    page.waitForRequest(r => r.url().endsWith('/approve')),
    page.waitForURL(u => u.href.startsWith(cliCallback + '?'), { timeout: 15000 }),
    page.click('#authorize'),
  ]);
  // As the ConsentPage sends it: JSON content type, no body, the user's token.
  assert.equal(approve.method(), 'POST');
  assert.equal(approve.headers()['content-type'], 'application/json');
  assert.match(approve.headers().authorization, /^Bearer eyJ/);
  assert.equal(approve.postData(), null);
  const back = new URL(page.url()).searchParams;
  assert.match(back.get('code'), /^[\w-]{43}$/);
  assert.equal(back.get('state'), state);
  assert.equal(back.get('iss'), `${appURL}/api/auth`);

  // The CLI's token request (a JSON body, spec §2.14).
  const res = await fetch(`${appURL}/api/auth/v1/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', code: back.get('code'), redirect_uri: cliCallback, code_verifier: verifier }),
  });
  const tokens = await res.json();
  assert.equal(res.status, 200, JSON.stringify(tokens));
  assert.equal(tokens.token_type, 'Bearer');
  assert.match(tokens.refresh_token, /^[0-9a-f-]{36}\.[\w-]{43}$/);
  assert.equal(tokens.scope, 'openid offline_access');
  await context.close();
});

test('consent page: Cancel sends the client access_denied', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { state } = await startCLIAuthorization(page);
  await consentShown(page);
  await Promise.all([
    page.waitForURL(u => u.href.startsWith(cliCallback + '?'), { timeout: 15000 }),
    page.click('#cancel'),
  ]);
  const back = new URL(page.url()).searchParams;
  assert.equal(back.get('error'), 'access_denied');
  assert.equal(back.get('state'), state);
  assert.equal(back.get('iss'), `${appURL}/api/auth`);
  assert.equal(back.get('code'), null);
  await context.close();
});
