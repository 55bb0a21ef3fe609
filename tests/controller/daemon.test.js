// SPDX-License-Identifier: LGPL-2.1-or-later
//
// intercomd as a daemon, without a browser: exit codes, signals (TERM stops
// with the relays off, HUP reloads), and the API's refusals. Run through
// tests/e2e/run (which installs playwright-core, imported by station.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Station, PASSWORDS, INTERCOMD, poll } from '../e2e/station.js';

// One HTTPS request trusting the station's own certificate.
function request(station, method, path, { body, cookie, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: station.port, method, path,
      ca: station.ca, agent: false,
      headers: { ...headers, ...(cookie ? { Cookie: cookie } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = data ? JSON.parse(data) : null; } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text: data });
      });
    });
    req.on('error', (e) => reject(new Error(`${method} ${path}: ${e.message}`)));
    if (body !== undefined)
      req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

async function login(station, user, password) {
  const r = await request(station, 'POST', '/api/v1/login', { body: { user, password } });
  assert.equal(r.status, 200, `login ${user}: ${r.text}`);
  const cookie = r.headers['set-cookie'][0];
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /Secure/i);
  assert.match(cookie, /SameSite=Strict/i);
  return cookie.split(';')[0];
}

async function startStation() {
  const st = await Station.start();
  st.ca = await readFile(st.cert);
  return st;
}

function runIntercomd(args, input) {
  return new Promise((resolve) => {
    const child = spawn(INTERCOMD, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input ?? '');
  });
}

test('a bad config exits 78 naming the key; --version; --hash-password', async () => {
  const st = await startStation();
  try {
    await st.stop();
    const text = await readFile(st.config, 'utf8');
    await writeFile(st.config, text.replace('framerate=30', 'framerate=fast'));
    let r = await runIntercomd(['--config', st.config]);
    assert.equal(r.code, 78, r.err);
    assert.match(r.err, /\[media\] framerate/);
    await writeFile(st.config, text + '\n[media]\nvideo-device=/dev/video0 ! fakesink\n');
    r = await runIntercomd(['--config', st.config]);
    assert.equal(r.code, 78, r.err);
    r = await runIntercomd(['--config', join(st.dir, 'missing.conf')]);
    assert.equal(r.code, 78, r.err);
    r = await runIntercomd(['--bogus']);
    assert.equal(r.code, 64, r.err);
    r = await runIntercomd(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^intercomd \d+\.\d+/);
    r = await runIntercomd(['--hash-password'], 'pw\n');
    assert.equal(r.code, 0);
    assert.match(r.out, /^\$argon2id\$/);
  } finally {
    await st.cleanup();
  }
});

test('the API refuses what it should, and changes nothing', async () => {
  const st = await startStation();
  try {
    for (const path of ['/api/v1/state', '/api/v1/me', '/api/v1/history'])
      assert.equal((await request(st, 'GET', path)).status, 401, path);
    assert.equal((await request(st, 'POST', '/api/v1/sim/inputs/bell',
        { body: { active: true } })).status, 401);
    // the WebSocket upgrade without a session
    const ws = await request(st, 'GET', '/wsp', { headers: {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'wsp-1.0' } });
    assert.equal(ws.status, 401);
    // wrong password, unknown user, bad bodies
    assert.equal((await request(st, 'POST', '/api/v1/login',
        { body: { user: 'alice', password: 'wrong' } })).status, 401);
    assert.equal((await request(st, 'POST', '/api/v1/login',
        { body: { user: 'nobody', password: 'x' } })).status, 401);
    assert.equal((await request(st, 'POST', '/api/v1/login', { body: '{"user":' })).status, 400);
    assert.equal((await request(st, 'POST', '/api/v1/login', { body: [1] })).status, 400);
    // static files: no way out of the web root
    assert.equal((await request(st, 'GET', '/../intercomd.conf')).status, 404);
    assert.equal((await request(st, 'GET', '/%2e%2e/intercomd.conf')).status, 404);
    assert.equal((await request(st, 'GET', '/')).status, 200);

    const cookie = await login(st, 'alice', PASSWORDS.alice);
    const me = await request(st, 'GET', '/api/v1/me', { cookie });
    assert.equal(me.json.uri, st.uri('alice'));
    assert.equal(me.json.door, st.doorUri);
    assert.equal(me.json.sim, true);
    assert.equal((await request(st, 'POST', '/api/v1/sim/inputs/garage',
        { cookie, body: { active: true } })).status, 404);
    assert.equal((await request(st, 'POST', '/api/v1/sim/inputs/in1',
        { cookie, body: { active: 'yes' } })).status, 400);
    const state = await request(st, 'GET', '/api/v1/state', { cookie });
    assert.deepEqual(state.json, {
      inputs: { bell: false, in1: false, in2: false },
      relays: { bell: false, door: false }, calls: [] });

    // an input through the simulated chip
    assert.equal((await request(st, 'POST', '/api/v1/sim/inputs/in2',
        { cookie, body: { active: true } })).status, 204);
    await poll(() => request(st, 'GET', '/api/v1/state', { cookie }),
        (r) => r.json.inputs.in2 === true, { what: 'in2 active' });

    // log-out ends the session
    assert.equal((await request(st, 'POST', '/api/v1/logout', { cookie })).status, 204);
    assert.equal((await request(st, 'GET', '/api/v1/state', { cookie })).status, 401);
    await st.stop();
  } finally {
    await st.cleanup();
  }
});

test('SIGHUP reloads users; a broken config on reload keeps the running one', async () => {
  const st = await startStation();
  try {
    const text = await readFile(st.config, 'utf8');
    assert.equal((await request(st, 'POST', '/api/v1/login',
        { body: { user: 'bob', password: 'bob-pw' } })).status, 401);
    const hash = (await runIntercomd(['--hash-password'], 'bob-pw\n')).out.trim();
    await writeFile(st.config, text + `\n[user bob]\npassword-hash=${hash}\n`);
    st.proc.kill('SIGHUP');
    await poll(() => request(st, 'POST', '/api/v1/login',
        { body: { user: 'bob', password: 'bob-pw' } }), (r) => r.status === 200,
        { what: 'bob can log in after SIGHUP' });

    await writeFile(st.config, text + '\n[calls]\nmax-call=forever\n');
    st.proc.kill('SIGHUP');
    await poll(async () => st.output(), (o) => /reload: .*\[calls\] max-call/.test(o),
        { what: 'the reload refusal in the log' });
    // still running, and still with bob
    await login(st, 'bob', 'bob-pw');
    await st.stop();
  } finally {
    await st.cleanup();
  }
});

test('SIGTERM stops with every relay off', async () => {
  const st = await startStation();
  try {
    const cookie = await login(st, 'alice', PASSWORDS.alice);
    // The bell button pulses the bell relay for a second.
    await request(st, 'POST', '/api/v1/sim/inputs/bell', { cookie, body: { active: true } });
    await poll(() => request(st, 'GET', '/api/v1/state', { cookie }),
        (r) => r.json.relays.bell === true, { what: 'the bell relay on' });
    await st.stop();
    const audit = await readFile(join(st.dir, 'state', 'audit.log'), 'utf8');
    assert.match(audit, /peer=bell-button .*relay=bell action=pulse .*result=accepted/);
    const lines = audit.trim().split('\n');
    const last = lines.filter((l) => /relay=bell state=/.test(l)).pop();
    assert.match(last, /relay=bell state=off reason=stop/, audit);
    assert.ok(!/relay=bell state=off reason=pulse-end/.test(audit),
        'the pulse ended before the stop: the test proves nothing');
  } finally {
    await st.cleanup();
  }
});
