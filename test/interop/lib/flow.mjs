// Shared pieces of the MCP and Backstage CLI interop scripts: reading the
// environment, step logging, a loopback redirect listener, and the consent
// step played exactly as the Backstage frontend's consent page plays it
// (spec backstage-oidc-provider.md §2.13).
import http from 'node:http';
import assert from 'node:assert/strict';

// env returns the environment variable name, or ends the script naming it.
export function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
}

// step prints one line of the observed flow.
export function step(name, detail = '') {
  console.log(`ok ${name}${detail ? ': ' + detail : ''}`);
}

// jwtPayload decodes a JWT's claims without verifying them (the resource
// server verifies; this is for reporting and checks on what was issued).
export function jwtPayload(token) {
  const parts = String(token).split('.');
  assert.equal(parts.length, 3, 'an access token is a JWT');
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

// listenCallback listens on 127.0.0.1:port (0 = ephemeral) at path and
// resolves each received redirect's query parameters through next().
export async function listenCallback(port = 0, path = '/callback') {
  const waiting = [];
  const received = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname !== path) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You may now close this window.');
    const params = Object.fromEntries(u.searchParams);
    const w = waiting.shift();
    if (w) w(params);
    else received.push(params);
  });
  await new Promise((resolve, reject) => {
    server.once('error', (err) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`127.0.0.1:${port} is in use; the test needs it free`) : err);
    });
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}${path}`,
    port: server.address().port,
    next: () => (received.length ? Promise.resolve(received.shift()) : new Promise((r) => waiting.push(r))),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

// consent plays the user's browser and the Backstage frontend's consent
// page: it opens authorizationUrl (which must answer 302 to
// <app>/oauth2/authorize/<session id>), loads GET <A>/v1/sessions/<id>
// with the user's token, checks what the page shows, presses
// "Authorize" (POST …/approve with Authorization: Bearer, Content-Type:
// application/json and no body) — or "Cancel" (…/reject) when reject is
// set — and follows redirectUrl as window.location.href would. It
// returns the session the page showed and the redirectUrl.
export async function consent({ authorizationUrl, authBase, userToken, want, reject = false }) {
  const opened = await fetch(authorizationUrl, { redirect: 'manual', headers: { accept: 'text/html' } });
  const body = await opened.text();
  assert.equal(opened.status, 302, `GET /v1/authorize answered ${opened.status}: ${body}`);
  const location = new URL(opened.headers.get('location'));
  assert.match(location.pathname, /\/oauth2\/authorize\/[^/]+$/, `authorize redirected to ${location}`);
  const sessionId = location.pathname.split('/').pop();

  const headers = { authorization: `Bearer ${userToken}` };
  const shown = await fetch(`${authBase}/v1/sessions/${encodeURIComponent(sessionId)}`, { headers });
  const session = await shown.json();
  assert.equal(shown.status, 200, `GET /v1/sessions/<id>: ${shown.status} ${JSON.stringify(session)}`);
  assert.deepEqual(Object.keys(session).slice(0, 3), ['id', 'clientId', 'clientName'], 'session keys');
  assert.equal(session.id, sessionId);
  if (want) {
    for (const [k, v] of Object.entries(want)) assert.equal(session[k], v, `session ${k}`);
  }

  const pressed = await fetch(`${authBase}/v1/sessions/${encodeURIComponent(sessionId)}/${reject ? 'reject' : 'approve'}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
  });
  const answer = await pressed.json();
  assert.equal(pressed.status, 200, `POST …/${reject ? 'reject' : 'approve'}: ${pressed.status} ${JSON.stringify(answer)}`);
  assert.equal(typeof answer.redirectUrl, 'string', 'redirectUrl');
  const followed = await fetch(answer.redirectUrl);
  await followed.text();
  assert.equal(followed.status, 200, `the client's redirect listener answered ${followed.status}`);
  return { session, redirectUrl: answer.redirectUrl };
}

// postJSON posts v as JSON (as the Backstage CLI's httpJson does) and
// returns the status, headers and parsed body (null when empty).
export async function postJSON(url, v) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(v) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

// run runs main, printing a failure (assertion message included) and
// exiting non-zero so the Go driver fails with it.
export function run(main) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
      process.exit(1);
    },
  );
}
