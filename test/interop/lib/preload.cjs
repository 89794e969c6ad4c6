'use strict';
// Preloaded (node --require) into every Node process of Gatehouse's MCP and
// Backstage CLI interop tests:
//
// 1. It records each fetch() the process makes — method, URL, content
//    type, body field names, status — as one JSON line appended to the
//    file named by GATEHOUSE_FETCH_TRACE, so the Go test can check the
//    exact requests a real client sent (the CLI swallows its logout's
//    answer) and print the observed flow. Values of secret fields (codes,
//    verifiers, tokens, secrets, state) are never written.
// 2. It hides keytar, so the Backstage CLI keeps its tokens in its file
//    store under XDG_DATA_HOME, where the test can read them, whatever
//    the machine has (a keytar that loads but has no D-Bus session would
//    fail the login).
const fs = require('node:fs');
const Module = require('node:module');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'keytar') {
    const err = new Error('keytar is hidden by the interop test (preload.cjs)');
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};

const traceFile = process.env.GATEHOUSE_FETCH_TRACE;
// Query parameters whose values are secrets or one-time values.
const secretParams = new Set(['code', 'code_verifier', 'code_challenge', 'state', 'token', 'refresh_token', 'client_secret', 'access_token']);

function redactURL(raw) {
  try {
    const u = new URL(raw);
    for (const k of [...u.searchParams.keys()]) {
      if (secretParams.has(k)) u.searchParams.set(k, '…');
    }
    return u.toString();
  } catch {
    return String(raw);
  }
}

// bodyFields names the fields of a JSON or form body, in order.
function bodyFields(body, contentType) {
  if (body == null) return undefined;
  if (body instanceof URLSearchParams) return [...body.keys()];
  if (typeof body !== 'string') return ['<' + (body.constructor ? body.constructor.name : typeof body) + '>'];
  if (/json/i.test(contentType || '')) {
    try {
      const v = JSON.parse(body);
      return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : ['<' + typeof v + '>'];
    } catch {
      return ['<invalid JSON>'];
    }
  }
  if (/x-www-form-urlencoded/i.test(contentType || '')) return [...new URLSearchParams(body).keys()];
  return ['<text>'];
}

function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  if (Array.isArray(headers)) {
    const hit = headers.find(([k]) => k.toLowerCase() === name);
    return hit ? hit[1] : undefined;
  }
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

if (traceFile) {
  const original = globalThis.fetch;
  globalThis.fetch = async function tracedFetch(input, init = {}) {
    const url = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    const method = (init.method || (typeof input === 'object' && input.method) || 'GET').toUpperCase();
    const contentType = header(init.headers, 'content-type');
    const authorization = header(init.headers, 'authorization');
    const record = {
      method,
      url: redactURL(url),
      contentType,
      auth: authorization ? String(authorization).split(' ')[0] : undefined,
      fields: bodyFields(init.body, contentType),
    };
    try {
      const res = await original(input, init);
      record.status = res.status;
      record.location = res.headers.get('location') ? redactURL(res.headers.get('location')) : undefined;
      return res;
    } catch (err) {
      record.error = String(err && err.message);
      throw err;
    } finally {
      fs.appendFileSync(traceFile, JSON.stringify(record) + '\n');
    }
  };
}
