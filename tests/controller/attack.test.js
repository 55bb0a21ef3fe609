// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The attack suite: what an attacker on the network, a logged-in user
// trying to be someone else, a peer station or a stale page can throw at
// intercomd. Every case asserts
//   1. a clear refusal (HTTP status, WSP `bye` code, io `error`),
//   2. that the daemon still serves (GET /api/v1/state with a session: 200),
//   3. that no relay moved: the simulated GPIO chip's own count of output
//      changes (GET /api/v1/sim/relays) is the same before and after (the
//      positive controls prove the counter moves when a relay does),
//   4. where stated, the audit line;
// and at the end Station.stop() asserts exit 0 after SIGTERM (under
// AddressSanitizer: no leak, no memory error).
//
// A: raw HTTPS and WebSocket (wsclient.js), no browser. B: Chromium.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Station, PASSWORDS, INTERCOMD, poll, sleep, launchBrowser,
  openPage, waitHook, withLogs,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from '../e2e/station.js';
import { connect, frame, OP } from './wsclient.js';
import { request as httpRequest } from './http.js';

const VICTIM_PASSWORD = 'victim-secret-3';
const PEER_HOST = 'other.test:8443';
const PEER_TOKEN = crypto.randomBytes(32).toString('base64url');   // 43 chars
const LIMITS = { socketsPerAddress: 4, peers: 1, loginFailures: 3, loginDelay: 1 };

// ------------------------------------------------------------------ helpers

// One HTTPS request with a session ({cookie, csrf}); the CSRF header is sent
// for POSTs unless `csrf` is given (null: none).
function request(st, method, path, { session, csrf, ...rest } = {}) {
  const token = csrf !== undefined ? csrf : method === 'POST' ? session?.csrf : undefined;
  return httpRequest(st, method, path, { ...rest, cookie: session?.cookie, csrf: token ?? undefined });
}

function login(st, user, password, localAddress) {
  return request(st, 'POST', '/api/v1/login', { body: { user, password }, localAddress });
}

// A session {cookie, csrf, user, uri} after a login that must succeed.
async function session(st, user, password = PASSWORDS[user], localAddress) {
  const r = await login(st, user, password, localAddress);
  assert.equal(r.status, 200, `login ${user}: ${r.status} ${r.text}`);
  const setCookie = [].concat(r.headers['set-cookie'] ?? []).find((c) => c.startsWith('oi_session='));
  assert.ok(setCookie, 'an oi_session cookie: ' + JSON.stringify(r.headers['set-cookie']));
  return { cookie: setCookie.split(';')[0], setCookie, csrf: r.json.csrf, user, uri: r.json.uri,
    json: r.json };
}

async function simRelays(st, admin) {
  const r = await request(st, 'GET', '/api/v1/sim/relays', { session: admin });
  assert.equal(r.status, 200, `GET /api/v1/sim/relays: ${r.status} ${r.text}`);
  for (const relay of ['bell', 'door'])
    assert.ok(r.json?.[relay] && Number.isInteger(r.json[relay].changes),
        `sim/relays.${relay}.changes: ${r.text}`);
  return r.json;
}

async function expectAlive(st, admin) {
  assert.equal(st.proc?.exitCode ?? null, null, 'intercomd is still running');
  const r = await request(st, 'GET', '/api/v1/state', { session: admin });
  assert.equal(r.status, 200, `GET /api/v1/state after the attack: ${r.status} ${r.text}`);
  return r.json;
}

function expectSameRelays(beforeRelays, afterRelays, what) {
  for (const relay of ['bell', 'door']) {
    assert.equal(afterRelays[relay].changes, beforeRelays[relay].changes,
        `${what}: the ${relay} relay moved (${JSON.stringify(beforeRelays)} -> ${JSON.stringify(afterRelays)})`);
    assert.equal(afterRelays[relay].active, false, `${what}: the ${relay} relay is off`);
  }
}

// Runs an attack between two readings of the chip. The attack's own
// assertions come first; a failing "before" reading is reported after them.
async function guarded(st, admin, what, fn) {
  let beforeRelays, beforeError;
  try {
    beforeRelays = await simRelays(st, admin);
  } catch (e) {
    beforeError = e;
  }
  try {
    await fn();
  } catch (e) {
    console.error(`---- ${what}: intercomd output (last 80 lines) ----\n`
        + st.log.slice(-80).join('\n'));
    throw e;
  }
  await expectAlive(st, admin);
  if (beforeError)
    throw beforeError;
  expectSameRelays(beforeRelays, await simRelays(st, admin), what);
}

// `protocols`: the Sec-WebSocket-Protocol list, wsp-1.0 unless given;
// given as undefined: no such header.
function wsp(st, opts = {}) {
  const { session: s, headers = {}, localAddress, origin } = opts;
  const protocols = Object.hasOwn(opts, 'protocols') ? opts.protocols : ['wsp-1.0'];
  return connect('127.0.0.1', st.port, '/wsp', {
    protocols, localAddress, ca: st.ca, origin,
    headers: { ...(s ? { Cookie: s.cookie } : {}), ...headers },
  });
}

// An open WSP socket (101 with wsp-1.0), or a failed assertion.
async function openWsp(st, opts) {
  const ws = await wsp(st, opts);
  assert.equal(ws.status, 101, `/wsp upgrade: ${ws.status} ${ws.body}`);
  assert.equal(ws.protocol, 'wsp-1.0', 'the negotiated subprotocol');
  return ws;
}

function byes(got) {
  return got.messages.filter((m) => Array.isArray(m) && m[0] === 'bye').map((m) => m[1]?.code);
}

// The socket ends with exactly one `bye` @code and nothing a success would
// bring; returns what came.
function expectBye(got, code, what) {
  assert.deepEqual(byes(got), [code], `${what}: ${JSON.stringify(got)}`);
  for (const kw of ['registered', 'ringing', 'offer', 'answer'])
    assert.ok(!got.messages.some((m) => Array.isArray(m) && m[0] === kw), `${what}: no ${kw}: `
        + JSON.stringify(got));
  assert.ok(got.close >= 1000, `${what}: closed: ${got.close}`);
  return got;
}

// A fresh socket of @s, @send (text, or a function of the socket), then
// everything until it closes.
async function attackSocket(st, s, send, opts = {}) {
  const ws = await openWsp(st, { session: s, ...opts });
  if (typeof send === 'function')
    send(ws);
  else
    ws.sendText(typeof send === 'string' ? send : JSON.stringify(send));
  try {
    return await ws.untilClose(opts.timeout ?? 10000);
  } finally {
    await ws.close();
  }
}

function invite(caller, callee) {
  return ['invite', { caller: { uri: caller }, callee: { uri: callee } }];
}

function runIntercomd(args) {
  return new Promise((resolve) => {
    const child = spawn(INTERCOMD, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

function hashPassword(password) {
  return new Promise((resolve, reject) => {
    const child = spawn(INTERCOMD, ['--hash-password'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim())
      : reject(new Error('--hash-password exited ' + code))));
    child.stdin.end(password);
  });
}

async function auditLines(st) {
  try {
    return (await readFile(join(st.dir, 'state', 'audit.log'), 'utf8')).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

// ===================================================== A: without a browser

describe('A: attacks without a browser', () => {
  let st, admin, alice, mallory;
  const guard = (what, fn) => guarded(st, admin, what, fn);

  before(async () => {
    const victimHash = await hashPassword(VICTIM_PASSWORD);
    st = await Station.start({ allowNetworks: '127.0.0.1/32', extra: `
[limits]
sockets-per-address=${LIMITS.socketsPerAddress}
peers=${LIMITS.peers}
login-failures=${LIMITS.loginFailures}
login-delay=${LIMITS.loginDelay}
login-max-delay=300

[peer other]
host=${PEER_HOST}
token=${PEER_TOKEN}

[user victim]
password-hash=${victimHash}
` });
    st.ca = await readFile(st.cert);
    st.origin = `https://127.0.0.1:${st.port}`;
    admin = await session(st, 'alice');
    alice = await session(st, 'alice');
    mallory = await session(st, 'mallory');
  });

  after(async () => {
    try {
      await st?.stop();
    } finally {
      await st?.cleanup();
    }
  });

  test('the session API: login answers csrf, /me tells it and the fingerprint', () =>
    guard('session API', async () => {
      assert.match(alice.setCookie, /HttpOnly/i);
      assert.match(alice.setCookie, /Secure/i);
      assert.match(alice.setCookie, /SameSite=Strict/i);
      assert.equal(alice.json.user, 'alice');
      assert.equal(alice.json.uri, st.uri('alice'));
      assert.equal(typeof alice.csrf, 'string', 'login answers a csrf token: ' + JSON.stringify(alice.json));
      assert.ok(alice.csrf.length >= 16, 'a csrf token of some length');
      assert.notEqual(alice.csrf, mallory.csrf, 'one token per session');
      const me = await request(st, 'GET', '/api/v1/me', { session: alice });
      assert.equal(me.status, 200);
      for (const k of ['user', 'uri', 'door', 'name', 'sim', 'csrf', 'fingerprint'])
        assert.ok(k in me.json, `/me has ${k}: ${me.text}`);
      assert.equal(me.json.csrf, alice.csrf, '/me tells the session\'s csrf token');
      const fp = new crypto.X509Certificate(st.ca).fingerprint256;
      assert.equal(me.json.fingerprint, fp, 'the certificate\'s SHA-256 fingerprint');
    }));

  test('/wsp without a session or token: HTTP 401, no upgrade', () => guard('no session', async () => {
    const ws = await wsp(st);
    assert.equal(ws.status, 401, ws.body);
    const bad = await wsp(st, { headers: { Cookie: 'oi_session=' + 'a'.repeat(64) } });
    assert.equal(bad.status, 401, 'a made-up session cookie: ' + bad.body);
  }));

  test('/wsp without the wsp-1.0 subprotocol, or with another: HTTP 400', () =>
    guard('subprotocol', async () => {
      const none = await wsp(st, { session: alice, protocols: undefined });
      assert.equal(none.status, 400, 'no Sec-WebSocket-Protocol: ' + none.body);
      const other = await wsp(st, { session: alice, protocols: ['wsp-2.0'] });
      assert.equal(other.status, 400, 'Sec-WebSocket-Protocol: wsp-2.0: ' + other.body);
      const chat = await wsp(st, { session: alice, protocols: ['chat', 'superchat'] });
      assert.equal(chat.status, 400, 'Sec-WebSocket-Protocol: chat, superchat: ' + chat.body);
    }));

  test('an Origin of another site: 403 at the /wsp upgrade and on a POST', () =>
    guard('foreign Origin', async () => {
      for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${st.port}`,
        `https://127.0.0.1:${st.port + 1}`, `https://127.0.0.1:${st.port}.evil.example`]) {
        const ws = await wsp(st, { session: alice, origin });
        assert.equal(ws.status, 403, `/wsp with Origin ${origin}: ${ws.status} ${ws.body}`);
        const r = await request(st, 'POST', '/api/v1/sim/inputs/bell',
            { session: alice, body: { active: true }, headers: { Origin: origin } });
        assert.equal(r.status, 403, `POST with Origin ${origin}: ${r.status} ${r.text}`);
      }
      const r0 = await request(st, 'POST', '/api/v1/login', { body: { user: 'alice',
        password: PASSWORDS.alice }, headers: { Origin: 'https://evil.example' } });
      assert.equal(r0.status, 403, `login with a foreign Origin: ${r0.status} ${r0.text}`);
      assert.ok(!r0.headers['set-cookie'], 'no session for a cross-site login');
      // the station's own origin is fine (a browser always sends one)
      const own = await openWsp(st, { session: alice, origin: st.origin });
      await own.close();
      const r = await request(st, 'POST', '/api/v1/calls/hangup',
          { session: alice, headers: { Origin: st.origin } });
      assert.equal(r.status, 204, `POST with the own Origin: ${r.status} ${r.text}`);
      const state = await expectAlive(st, admin);
      assert.equal(state.inputs.bell, false, 'the bell was not pressed');
    }));

  test('POST without the CSRF token or with another session\'s: 403; the right one: 204', () =>
    guard('CSRF', async () => {
      const hangup = (csrf) => request(st, 'POST', '/api/v1/calls/hangup', { session: alice, csrf });
      let r = await hangup(null);
      assert.equal(r.status, 403, `no X-CSRF-Token: ${r.status} ${r.text}`);
      assert.equal(r.json?.error, 'CSRF token missing or wrong');
      r = await hangup(mallory.csrf);
      assert.equal(r.status, 403, `mallory's token with alice's cookie: ${r.status} ${r.text}`);
      r = await hangup('');
      assert.equal(r.status, 403, `an empty token: ${r.status} ${r.text}`);
      r = await hangup(alice.csrf);
      assert.equal(r.status, 204, `the right token: ${r.status} ${r.text}`);

      // state-changing POSTs are refused the same way and change nothing
      r = await request(st, 'POST', '/api/v1/sim/inputs/bell',
          { session: alice, csrf: null, body: { active: true } });
      assert.equal(r.status, 403, `sim input without a token: ${r.status}`);
      r = await request(st, 'POST', '/api/v1/logout', { session: alice, csrf: mallory.csrf });
      assert.equal(r.status, 403, `logout with another session's token: ${r.status}`);
      const state = await request(st, 'GET', '/api/v1/state', { session: alice });
      assert.equal(state.status, 200, 'alice\'s session survived the refused logout');
      assert.equal(state.json.inputs.bell, false, 'the bell was not pressed');

      // logout with the token ends the session: the cookie is worth nothing
      const gone = await session(st, 'mallory');
      r = await request(st, 'POST', '/api/v1/logout', { session: gone });
      assert.equal(r.status, 204, `logout: ${r.status} ${r.text}`);
      r = await request(st, 'GET', '/api/v1/state', { session: gone });
      assert.equal(r.status, 401, 'the cookie after logout');
      const ws = await wsp(st, { session: gone });
      assert.equal(ws.status, 401, '/wsp with the cookie after logout: ' + ws.body);
      r = await request(st, 'POST', '/api/v1/calls/hangup', { session: gone });
      assert.equal(r.status, 401, 'POST with the cookie and token after logout');
    }));

  test('a spoofed caller.uri: bye 403', () => guard('spoofed caller', async () => {
    expectBye(await attackSocket(st, alice, invite(st.uri('mallory'), st.doorUri)), 403,
        'alice invites the door as mallory');
    expectBye(await attackSocket(st, mallory, invite(st.uri('alice'), st.doorUri)), 403,
        'mallory invites the door as alice');
    expectBye(await attackSocket(st, mallory, invite(`alice@${PEER_HOST}`, st.uri('alice'))), 403,
        'mallory calls alice as a user of the peer station');
    const state = await expectAlive(st, admin);
    assert.deepEqual(state.calls, [], 'no call started');
  }));

  test('an unknown callee: bye 404', () => guard('unknown callee', async () => {
    expectBye(await attackSocket(st, alice, invite(st.uri('alice'), st.uri('nobody'))), 404,
        'alice calls nobody@ this station');
    expectBye(await attackSocket(st, alice, invite(st.uri('alice'), 'bob@elsewhere.test')), 404,
        'alice calls a user of another station through this one');
    expectBye(await attackSocket(st, alice, invite(st.uri('alice'), `door@127.0.0.1:${st.port + 1}`)), 404,
        'alice calls the door at another port');
  }));

  test('registering someone else\'s address: bye 403', () => guard('register other', async () => {
    expectBye(await attackSocket(st, mallory, ['register', { uri: st.uri('alice') }]), 403,
        'mallory registers as alice');
    expectBye(await attackSocket(st, alice, ['register', { uri: st.doorUri }]), 403,
        'alice registers as the door');
    expectBye(await attackSocket(st, alice, ['register', { uri: `alice@${PEER_HOST}` }]), 403,
        'alice registers at the peer station\'s host');
  }));

  test('callers outside the allow-lists: bye 403; forwarded-for headers change nothing', () =>
    guard('allow-lists', async () => {
      // allow-callers: only alice
      expectBye(await attackSocket(st, mallory, invite(st.uri('mallory'), st.doorUri)), 403,
          'mallory (not in allow-callers) calls the door');
      // allow-networks=127.0.0.1/32: alice from 127.0.0.2
      const door = invite(st.uri('alice'), st.doorUri);
      expectBye(await attackSocket(st, alice, door, { localAddress: '127.0.0.2' }), 403,
          'alice calls the door from 127.0.0.2');
      for (const headers of [{ 'X-Forwarded-For': '127.0.0.1' }, { Forwarded: 'for=127.0.0.1' },
        { 'X-Real-IP': '127.0.0.1' },
        { 'X-Forwarded-For': '127.0.0.1', Forwarded: 'for="127.0.0.1:1234"', 'X-Real-IP': '127.0.0.1' }]) {
        expectBye(await attackSocket(st, alice, door, { localAddress: '127.0.0.2', headers }), 403,
            'from 127.0.0.2 with ' + JSON.stringify(headers));
      }
      const state = await expectAlive(st, admin);
      assert.deepEqual(state.calls, [], 'no call started');
    }));

  test('in a call from an allowed address: peers over the limit get bye 486; a relay command on the socket: bye 400', () =>
    guard('door call', async () => {
      // positive control: the same invite from 127.0.0.1 is taken
      const ws = await openWsp(st, { session: alice });
      let second;
      try {
        ws.sendJson(invite(st.uri('alice'), st.doorUri));
        const seen = [];
        for (;;) {
          const m = await ws.nextJson(30000);
          assert.ok(Array.isArray(m), 'the door answers the allowed caller: ' + JSON.stringify([...seen, m]));
          seen.push(m[0]);
          if (m[0] === 'offer')
            break;
          assert.ok(['ringing', 'icecandidate'].includes(m[0]), 'before the offer: ' + seen);
        }
        assert.ok(seen.includes('ringing'), 'ringing before the offer: ' + seen);
        const state = await expectAlive(st, admin);
        assert.equal(state.calls.length, 1, 'one call');
        assert.equal(state.calls[0].mode, 'door');

        // [limits] peers=1: one more caller is busy
        second = await attackSocket(st, alice, invite(st.uri('alice'), st.doorUri));
        expectBye(second, 486, 'a second caller over [limits] peers=1');
        assert.equal((await expectAlive(st, admin)).calls[0].peers.length, 1, 'still one peer');

        // a relay command on the signalling socket ("wrong channel")
        ws.sendJson(['relay', { name: 'door', action: 'pulse' }]);
        const got = await ws.untilClose(10000);
        assert.ok(byes(got).includes(400), 'bye 400 for a relay command on the socket: '
            + JSON.stringify(got));
        assert.ok(!got.messages.some((m) => m[0] === 'relay'), 'no relay event: ' + JSON.stringify(got));
      } finally {
        await ws.close();
      }
      await poll(() => expectAlive(st, admin), (s) => s.calls.length === 0,
          { timeout: 15000, what: 'the call ended' });
    }));

  test('broken messages on a fresh socket: bye 400 and close', () => guard('bad messages', async () => {
    const big = JSON.stringify(['register', { uri: st.uri('alice'), pad: 'x'.repeat(100 * 1024) }]);
    const cases = [
      ['malformed JSON', '["register", {"uri": '],
      ['trailing data', JSON.stringify(['register', { uri: st.uri('alice') }]) + ' []'],
      ['a JSON object, not an array', JSON.stringify({ register: { uri: st.uri('alice') } })],
      ['deep nesting (10000 [)', '['.repeat(10000)],
      ['deep nesting, closed', '['.repeat(10000) + ']'.repeat(10000)],
      ['a 100 KiB message', big],
      ['a 100 KiB message in 13 fragments', (ws) => {
        const bytes = Buffer.from(big);
        for (let off = 0, i = 0; off < bytes.length; off += 8192, i++)
          ws.sendRaw(frame({ opcode: i === 0 ? OP.TEXT : OP.CONT, payload: bytes.subarray(off, off + 8192),
            fin: off + 8192 >= bytes.length }));
      }],
      ['a binary frame', (ws) => ws.sendBinary(Buffer.from(JSON.stringify(['register', { uri: st.uri('alice') }])))],
      ['an unknown keyword', '["hello"]'],
      ['an unknown keyword with content', JSON.stringify(['hello', { uri: st.uri('alice') }])],
      ['a relay command before any call', JSON.stringify(['relay', { name: 'door', action: 'pulse' }])],
      ['a relay command as an io message on the socket', JSON.stringify(['relay', { name: 'door', action: 'on' }])],
      ['invalid UTF-8', (ws) => ws.sendRaw(frame({ opcode: OP.TEXT,
        payload: Buffer.concat([Buffer.from('["register",{"uri":"'), Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from('"}]')]) }))],
      ['a NUL in the text', '["register",{"uri":"alice\u0000@x"}]'],
      ['an unmasked client frame', (ws) => ws.sendRaw(frame({ payload: '["hello"]', mask: false }))],
      ['a continuation frame without a message', (ws) => ws.sendRaw(frame({ opcode: OP.CONT, payload: '[]' }))],
      ['a reserved opcode', (ws) => ws.sendRaw(frame({ opcode: 3, payload: '[]' }))],
      ['RSV bits without an extension', (ws) => ws.sendRaw(frame({ payload: '["hello"]', rsv: 4 }))],
    ];
    const results = [];
    for (const [what, send] of cases) {
      const got = await attackSocket(st, alice, send);
      results.push([what, byes(got), got.close]);
      assert.ok(!got.messages.some((m) => Array.isArray(m) && m[0] === 'registered'),
          `${what}: not registered: ${JSON.stringify(got)}`);
    }
    const wrong = results.filter(([, codes, close]) => codes.length !== 1 || codes[0] !== 400 || close < 1000);
    assert.deepEqual(wrong, [], 'every broken message gets exactly bye 400 then a close; all: '
        + JSON.stringify(results));
    const state = await expectAlive(st, admin);
    assert.deepEqual(state.calls, []);
  }));

  test('a message flood: the rate limit ends the socket with bye 400', () => guard('flood', async () => {
    // alice's registered socket is called by another of alice's sockets;
    // as the callee it may send `ringing`, which the router takes and
    // ignores after the first: nothing but the rate limit can refuse them.
    const callee = await openWsp(st, { session: alice });
    const caller = await openWsp(st, { session: alice });
    try {
      callee.sendJson(['register', { uri: st.uri('alice') }]);
      assert.deepEqual(await callee.nextJson(5000), ['registered', { uri: st.uri('alice') }]);
      caller.sendJson(invite(st.uri('alice'), st.uri('alice')));
      const inv = await callee.nextJson(5000);
      assert.equal(inv[0], 'invite', JSON.stringify(inv));
      // 3 ringing within the limit: the caller hears one, the socket lives
      for (let i = 0; i < 3; i++)
        callee.sendJson(['ringing']);
      assert.deepEqual(await caller.nextJson(5000), ['ringing'], 'the caller hears ringing');
      const ring = JSON.stringify(['ringing']);
      for (let i = 0; i < 200; i++)
        callee.sendText(ring);
      const got = await callee.untilClose(10000);
      assert.deepEqual(byes(got), [400], 'bye 400 for the flood: ' + JSON.stringify(got));
      assert.equal(got.close, 1008, 'closed by the rate limit (1008), not by the router (1000)');
      const end = await caller.untilClose(10000);
      assert.equal(byes(end).length, 1, 'the caller is told the call is over: ' + JSON.stringify(end));
    } finally {
      await callee.close();
      await caller.close();
    }
  }));

  test('sockets per address: one over [limits] sockets-per-address gets 503; after a close, a new one is taken', () =>
    guard('sockets per address', async () => {
      const addr = '127.0.0.4';
      const open = [];
      try {
        for (let i = 0; i < LIMITS.socketsPerAddress; i++) {
          const ws = await openWsp(st, { session: alice, localAddress: addr });
          // registered: held open by the server, not timed out
          ws.sendJson(['register', { uri: st.uri('alice') }]);
          assert.equal((await ws.nextJson(5000))[0], 'registered');
          open.push(ws);
        }
        const over = await wsp(st, { session: alice, localAddress: addr });
        assert.equal(over.status, 503, `socket ${LIMITS.socketsPerAddress + 1} from ${addr}: `
            + `${over.status} ${over.body}`);
        // another address is not affected
        const other = await openWsp(st, { session: alice, localAddress: '127.0.0.5' });
        await other.close();
        // one closes: a new one from the same address is taken
        await open.shift().close();
        const again = await poll(async () => {
          const ws = await wsp(st, { session: alice, localAddress: addr });
          if (ws.status !== 101)
            return ws.status;
          open.push(ws);
          return 101;
        }, (s) => s === 101, { timeout: 10000, what: 'a new socket after one closed' });
        assert.equal(again, 101);
      } finally {
        for (const ws of open)
          await ws.close();
      }
    }));

  test('login brute force: 401s, then 429 with Retry-After per address and per user; after the wait it works', () =>
    guard('login brute force', async () => {
      const A = '127.0.0.3', B = '127.0.0.2';
      for (let i = 0; i < LIMITS.loginFailures; i++) {
        const r = await login(st, 'victim', 'wrong-' + i, A);
        assert.equal(r.status, 401, `wrong password ${i + 1}: ${r.status} ${r.text}`);
      }
      const locked = await login(st, 'victim', VICTIM_PASSWORD, A);
      const lockedAt = Date.now();
      assert.equal(locked.status, 429, `the right password while locked: ${locked.status} ${locked.text}`);
      assert.equal(typeof locked.json?.error, 'string', locked.text);
      const wait = locked.json.retry_after;
      assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= LIMITS.loginDelay,
          `retry_after ${wait}: the first delay is ${LIMITS.loginDelay} s`);
      assert.equal(locked.headers['retry-after'], String(wait), 'Retry-After header');
      assert.ok(!locked.headers['set-cookie'], 'no session while locked');

      // per user: from another address too
      let r = await login(st, 'victim', VICTIM_PASSWORD, B);
      assert.equal(r.status, 429, `victim from ${B}: ${r.status} ${r.text}`);
      // per address: another user from the attacking address
      r = await login(st, 'mallory', PASSWORDS.mallory, A);
      assert.equal(r.status, 429, `mallory from ${A}: ${r.status} ${r.text}`);
      // not global: another user from another address
      r = await login(st, 'mallory', PASSWORDS.mallory, B);
      assert.equal(r.status, 200, `mallory from ${B}: ${r.status} ${r.text}`);
      // attempts during the wait do not count: the wait does not grow
      r = await login(st, 'victim', 'still-wrong', A);
      assert.equal(r.status, 429, 'a wrong password while locked');
      assert.ok(r.json.retry_after <= wait, `retry_after did not grow: ${r.json.retry_after}`);

      // the documented wait; then one more failure is checked (401) and
      // doubles the wait
      await sleep(Math.max(0, wait * 1000 - (Date.now() - lockedAt)));
      r = await poll(() => login(st, 'victim', 'wrong-again', A), (x) => x.status !== 429,
          { timeout: 5000, interval: 200, what: 'a checked attempt after Retry-After' });
      assert.equal(r.status, 401, `a wrong password after the wait: ${r.status} ${r.text}`);
      const locked2 = await login(st, 'victim', VICTIM_PASSWORD, A);
      const locked2At = Date.now();
      assert.equal(locked2.status, 429, `after one more failure: ${locked2.status} ${locked2.text}`);
      assert.equal(locked2.json.retry_after, 2 * LIMITS.loginDelay, 'the delay doubles');
      assert.equal(locked2.headers['retry-after'], String(locked2.json.retry_after));

      // the announced wait, then the right password works
      await sleep(Math.max(0, locked2.json.retry_after * 1000 - (Date.now() - locked2At)));
      const ok = await poll(() => login(st, 'victim', VICTIM_PASSWORD, A), (x) => x.status === 200,
          { timeout: 5000, interval: 200, what: 'the right password after Retry-After' });
      assert.equal(ok.json.user, 'victim');
    }));

  test('a peer station\'s bearer token: its own host only, no register; a wrong token: 401', () =>
    guard('peer token', async () => {
      const bearer = (token) => ({ Authorization: 'Bearer ' + token });
      const wrong = await wsp(st, { headers: bearer(crypto.randomBytes(32).toString('base64url')) });
      assert.equal(wrong.status, 401, 'a wrong token: ' + wrong.body);
      const near = await wsp(st, { headers: bearer(PEER_TOKEN.slice(0, -1) + (PEER_TOKEN.endsWith('A') ? 'B' : 'A')) });
      assert.equal(near.status, 401, 'the token with its last character changed: ' + near.body);
      const lower = await wsp(st, { headers: { Authorization: 'bearer ' + PEER_TOKEN + 'x' } });
      assert.equal(lower.status, 401, 'a longer token: ' + lower.body);

      // positive control: the peer may call alice as one of its users (she
      // is not registered: 480, past the identity check)
      const ok = await attackSocket(st, null, invite(`bob@${PEER_HOST}`, st.uri('alice')),
          { headers: bearer(PEER_TOKEN) });
      expectBye(ok, 480, 'the peer calls alice as bob@' + PEER_HOST);
      // a caller at another host
      expectBye(await attackSocket(st, null, invite('eve@evil.test', st.uri('alice')),
          { headers: bearer(PEER_TOKEN) }), 403, 'the peer calls alice as eve@evil.test');
      expectBye(await attackSocket(st, null, invite(st.uri('mallory'), st.uri('alice')),
          { headers: bearer(PEER_TOKEN) }), 403, 'the peer calls alice as a local user');
      expectBye(await attackSocket(st, null, invite(st.doorUri, st.uri('alice')),
          { headers: bearer(PEER_TOKEN) }), 403, 'the peer calls alice as the door');
      // no registration
      expectBye(await attackSocket(st, null, ['register', { uri: `bob@${PEER_HOST}` }],
          { headers: bearer(PEER_TOKEN) }), 403, 'the peer registers its own user');
      expectBye(await attackSocket(st, null, ['register', { uri: st.uri('alice') }],
          { headers: bearer(PEER_TOKEN) }), 403, 'the peer registers as alice');
    }));

  test('pipeline text through config values: exit 78 naming the key, nothing made', () =>
    guard('config injection', async () => {
      const base = await readFile(st.config, 'utf8');
      const tag = crypto.randomBytes(6).toString('hex');
      const made = [];
      const cases = [
        ['media', 'video-device', (p) => `/dev/video0 ! filesink location=${p}`],
        ['media', 'audio-sink-device', () => 'default name=x'],
        ['media', 'audio-source-device', (p) => `default ! filesink location=${p}`],
        ['gpio', 'chip', () => 'sim ! fakesink'],
        ['ice', 'local-addresses', () => '127.0.0.1 ! x'],
      ];
      for (const [group, key, value] of cases) {
        const path = join(st.dir, `x-${tag}-${key}`);
        made.push(path);
        const config = join(st.dir, `inject-${key}.conf`);
        await writeFile(config, `${base}\n[${group}]\n${key}=${value(path)}\n`);
        const r = await runIntercomd(['--config', config]);
        assert.equal(r.code, 78, `${key}=${value(path)}: exit ${r.code} ${r.signal ?? ''}\n${r.err}`);
        assert.match(r.err, new RegExp(`\\[${group}\\] ${key}`), `the message names [${group}] ${key}`);
      }
      for (const path of made)
        assert.equal(existsSync(path), false, `${path} was made`);
    }));

  test('positive control: the bell button pulses the bell relay (the counter moves)', async () => {
    const beforeRelays = await simRelays(st, admin);
    const pressedUs = Date.now() * 1000;
    let r = await request(st, 'POST', '/api/v1/sim/inputs/bell', { session: admin, body: { active: true } });
    assert.equal(r.status, 204, r.text);
    await poll(() => simRelays(st, admin), (x) => x.bell.changes >= beforeRelays.bell.changes + 2
        && x.bell.active === false, { timeout: 10000, what: 'the bell relay on, then off' });
    r = await request(st, 'POST', '/api/v1/sim/inputs/bell', { session: admin, body: { active: false } });
    assert.equal(r.status, 204, r.text);
    const afterRelays = await simRelays(st, admin);
    assert.equal(afterRelays.bell.changes, beforeRelays.bell.changes + 2, 'one pulse: on, off');
    assert.equal(afterRelays.door.changes, beforeRelays.door.changes, 'the door did not move');
    // the chip's own times, on the wall clock (1 ms for the conversion from
    // its monotonic stamps): on after the press, off after on, both by now
    const nowUs = Date.now() * 1000;
    assert.ok(afterRelays.bell.activated >= pressedUs - 1000,
        `on (${afterRelays.bell.activated}) after the press (${pressedUs})`);
    assert.ok(afterRelays.bell.changed > afterRelays.bell.activated,
        `off (${afterRelays.bell.changed}) after on (${afterRelays.bell.activated})`);
    assert.ok(afterRelays.bell.changed <= nowUs + 1000, `off (${afterRelays.bell.changed}) by now (${nowUs})`);
    // the bell call (nobody registered) ends by itself
    await poll(() => expectAlive(st, admin), (s) => s.calls.length === 0,
        { timeout: 20000, what: 'the bell call ended' });
    // nothing above was accepted for the door
    const audit = await auditLines(st);
    assert.ok(!audit.some((l) => /relay=door .*result=accepted/.test(l)),
        'no door command was accepted: ' + audit.join('\n'));
  });

  test('after every attack, no socket is still counted: 127.0.0.1 opens its full share', () =>
    guard('socket count', async () => {
      // A socket whose last holder dropped it before its close would stay
      // counted for its address for good: enough of those lock it out.
      const open = [];
      try {
        await poll(async () => {
          while (open.length)
            await open.pop().close();
          for (let i = 0; i < LIMITS.socketsPerAddress; i++) {
            const ws = await wsp(st, { session: alice });
            if (ws.status !== 101)
              return `socket ${i + 1}: ${ws.status} ${ws.body}`;
            open.push(ws);
          }
          return 'all open';
        }, (r) => r === 'all open', { timeout: 15000, interval: 500,
          what: `${LIMITS.socketsPerAddress} sockets from 127.0.0.1 once the attacks are over` });
      } finally {
        for (const ws of open)
          await ws.close();
      }
    }));
});

// ======================================================= B: with a browser

const skipBrowser = SKIP_WITHOUT_CHROMIUM;

describe('B: attacks on the io channel (Chromium)', { skip: skipBrowser }, () => {
  let st, browser, page, admin, callId, acceptedText;
  const run = (what, fn) => withLogs(st, () => [page], () => guarded(st, admin, what, fn));

  before(async () => {
    st = await Station.start({ codec: 'vp8' });
    st.ca = await readFile(st.cert);
    admin = await session(st, 'alice');
    browser = await launchBrowser();
    page = await openPage(browser, st, 'alice');
    // Keep the page's data channels (the app drops them when its call
    // ends): the stale page of the hang-up case.
    await page.page.evaluate(() => {
      window.__channels = [];
      const make = RTCPeerConnection.prototype.createDataChannel;
      RTCPeerConnection.prototype.createDataChannel = function (...args) {
        const ch = make.apply(this, args);
        window.__channels.push(ch);
        return ch;
      };
    });
  });

  after(() => shutDown(browser, st));

  const ioCount = () => page.page.evaluate(() => window.intercom.io.length);
  const ioSince = (n) => page.page.evaluate((i) => window.intercom.io.slice(i), n);
  const waitIoError = (n, code) => waitHook(page.page, ([i, c]) => window.intercom.io.slice(i)
      .some((m) => m[0] === 'error' && m[1] && m[1].code === c), [n, code]);

  async function setInput(name, active) {
    const r = await request(st, 'POST', `/api/v1/sim/inputs/${name}`, { session: admin, body: { active } });
    assert.equal(r.status, 204, `sim input ${name}: ${r.status} ${r.text}`);
    await poll(() => expectAlive(st, admin), (s) => s.inputs[name] === active,
        { timeout: 5000, interval: 20, what: `inputs.${name} ${active}` });
  }

  test('positive control: a bell call, a door pulse on io moves the door relay (on, off), audited', async () => {
    await withLogs(st, () => [page], async () => {
      await waitHook(page.page, () => window.intercom.registered === true);
      await setInput('bell', true);
      await setInput('bell', false);
      await waitHook(page.page, () => window.intercom.state === 'ringing');
      assert.equal(await page.page.evaluate(() => window.intercom.answer()), true);
      await waitHook(page.page, () => window.intercom.state === 'connected', undefined, 30000);
      await waitHook(page.page, () => window.intercom.io.some((m) => m[0] === 'state'), undefined, 20000);
      const state = await expectAlive(st, admin);
      assert.equal(state.calls.length, 1);
      callId = state.calls[0].id;
      // the bell relay's own pulse (bell button) is over
      const before = await poll(() => simRelays(st, admin), (x) => !x.bell.active && !x.door.active,
          { timeout: 10000, what: 'relays at rest' });

      const cmd = ['relay', { name: 'door', action: 'pulse', duration: 300 }];
      acceptedText = JSON.stringify(cmd);
      const n = await ioCount();
      assert.equal(await page.page.evaluate((m) => window.intercom.sendIo(m), cmd), true, 'sent on io');
      const after = await poll(() => simRelays(st, admin),
          (x) => x.door.changes >= before.door.changes + 2 && !x.door.active,
          { timeout: 10000, what: 'the door relay on, then off' });
      assert.equal(after.door.changes, before.door.changes + 2, 'one pulse: on, then off');
      assert.equal(after.bell.changes, before.bell.changes, 'the bell relay did not move');
      const events = (await ioSince(n)).filter((m) => m[0] === 'relay' && m[1].name === 'door');
      assert.deepEqual(events.map((m) => m[1].active).slice(0, 2), [true, false], 'relay events on io');
      assert.ok(!(await ioSince(n)).some((m) => m[0] === 'error'), 'no io error');
      const audit = await poll(() => auditLines(st), (ls) => ls.some((l) =>
        l.includes(`peer=${st.uri('alice')} call=${callId} relay=door action=pulse`) && /result=accepted/.test(l)),
      { timeout: 5000, what: 'the accepted pulse in audit.log' });
      assert.ok(audit.length > 0);
    });
  });

  test('"on" for the door relay: io error 403, nothing moves, audited as refused', () =>
    run('door on', async () => {
      assert.ok(acceptedText, 'the positive control ran');
      const n = await ioCount();
      assert.equal(await page.page.evaluate(() =>
        window.intercom.sendIo(['relay', { name: 'door', action: 'on' }])), true);
      await waitIoError(n, 403);
      await poll(() => auditLines(st), (ls) => ls.some((l) =>
        l.includes(`peer=${st.uri('alice')} call=${callId} relay=door action=on`) && /result=refused/.test(l)),
      { timeout: 5000, what: 'the refused "on" in audit.log' });
      assert.ok(!(await ioSince(n)).some((m) => m[0] === 'relay' && m[1].active === true), 'no relay on');
    }));

  test('an unknown relay: io error 404, audited as refused', () => run('unknown relay', async () => {
    const n = await ioCount();
    assert.equal(await page.page.evaluate(() =>
      window.intercom.sendIo(['relay', { name: 'garage', action: 'pulse' }])), true);
    await waitIoError(n, 404);
    await poll(() => auditLines(st), (ls) => ls.some((l) =>
      l.includes(`call=${callId} relay=garage`) && /result=refused/.test(l)),
    { timeout: 5000, what: 'the refused garage command in audit.log' });
  }));

  test('malformed and unknown io messages: io error 400, nothing moves', () => run('bad io', async () => {
    for (const text of ['{', '["relay",{"name":"door","action":"pulse","duration":300,"force":true}]',
      '["relay",{"name":"door","action":"pulse","duration":-1}]', '["hello"]',
      '["relay",{"name":"door","active":true}]']) {
      const n = await ioCount();
      assert.equal(await page.page.evaluate((t) => {
        const io = window.__channels.find((c) => c.label === 'io');
        if (!io || io.readyState !== 'open')
          return false;
        io.send(t);
        return true;
      }, text), true, 'io open');
      await waitIoError(n, 400);
    }
  }));

  test('after the hang-up: the accepted command from the stale page moves nothing', () =>
    run('after hang-up', async () => {
      const acceptedBefore = (await auditLines(st)).filter((l) => /result=accepted/.test(l)).length;
      // the positive control's pulse is over
      const before = await poll(() => simRelays(st, admin), (r) => !r.door.active && !r.bell.active,
          { timeout: 5000, what: 'the relays at rest' });
      await page.page.evaluate((text) => {
        const wsp = window.__channels.find((c) => c.label === 'wsp');
        const io = window.__channels.find((c) => c.label === 'io');
        window.__afterBye = null;
        wsp.addEventListener('message', (ev) => {
          let m;
          try { m = JSON.parse(ev.data); } catch { return; }
          if (m[0] !== 'bye' || (m[1] && m[1].code === 101) || window.__afterBye)
            return;
          const state = io.readyState;
          const ioIndex = window.intercom.io.length;
          if (state === 'open')
            io.send(text);
          window.__afterBye = { code: m[1] && m[1].code, state, sent: state === 'open', ioIndex };
        });
      }, acceptedText);
      const r = await request(st, 'POST', '/api/v1/calls/hangup', { session: admin });
      assert.equal(r.status, 204, `hangup: ${r.status} ${r.text}`);
      await waitHook(page.page, () => window.intercom.lastBye && window.__afterBye);
      const after = await page.page.evaluate(() => window.__afterBye);
      assert.equal(after.code, 200, 'the door\'s bye');
      assert.equal(after.sent, true, 'the stale io channel was still open to send on: ' + JSON.stringify(after));
      await poll(() => expectAlive(st, admin), (s) => s.calls.length === 0,
          { timeout: 15000, what: 'the call ended' });
      // The hang-up ended the call before it answered 204 (the door's
      // calls end synchronously): from then on no command of that call can
      // be accepted, and one accepted before would be in the audit (it is
      // written before the relay moves), checked below.
      expectSameRelays(before, await simRelays(st, admin), 'after the hang-up');
      const late = await ioSince(after.ioIndex);
      assert.ok(late.every((m) => m[0] === 'error' || (m[0] === 'relay' && m[1].active === false)),
          'only an error (if anything) answers the stale command: ' + JSON.stringify(late));
      const audit = await auditLines(st);
      assert.equal(audit.filter((l) => /result=accepted/.test(l)).length, acceptedBefore,
          'nothing accepted after the hang-up: ' + audit.join('\n'));
      // Whether the command reached the door at all (it may be lost with
      // the channel): if it did, it is refused and audited.
      const stale = audit.filter((l) => l.includes(`call=${callId} relay=door action=pulse`)
          && /result=refused/.test(l));
      console.log(`# after the hang-up: ${stale.length ? 'the door refused the stale command: '
        + stale.join(' | ') : 'the stale command did not reach the door (no audit line)'}; `
        + `io after the bye: ${JSON.stringify(late)}`);
    }));

  test('the accepted command replayed on a new authenticated /wsp socket: bye 400', () =>
    run('replay on /wsp', async () => {
      assert.ok(acceptedText, 'the positive control ran');
      const s = await session(st, 'alice');
      const got = await attackSocket(st, s, acceptedText);
      expectBye(got, 400, 'the io command replayed as a WSP message');
      // and on a registered socket
      const ws = await openWsp(st, { session: s });
      try {
        ws.sendJson(['register', { uri: st.uri('alice') }]);
        assert.equal((await ws.nextJson(5000))[0], 'registered');
        ws.sendText(acceptedText);
        expectBye(await ws.untilClose(10000), 400, 'replayed on a registered socket');
      } finally {
        await ws.close();
      }
    }));
});
