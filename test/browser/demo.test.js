// The demo (cmd/gatehouse-dev) in a real browser: Debian's Chromium, driven by
// playwright-core, through the popup flow (both providers), a reload that
// gets the session back through /refresh, sign-out, and the redirect flow.
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
let server, serverLog = '', errLog = '', browser, appURL;

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
  const idp = `http://127.0.0.1:${idpPort}`;
  server = spawn(bin, ['--idp-addr', `127.0.0.1:${idpPort}`], {
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

  // Sign out: the refresh cookie is gone, so a reload stays signed out.
  const [logout] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vcfsso/logout')),
    page.click('#logout'),
  ]);
  assert.equal(logout.status(), 200);
  await page.waitForFunction(() => document.getElementById('who').textContent === 'Logged out.');
  const [again] = await Promise.all([
    page.waitForResponse(r => r.url().includes('/api/auth/vcfsso/refresh')),
    page.reload(),
  ]);
  assert.equal(again.status(), 401);
  assert.equal(await who(page), 'Not signed in.');
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
