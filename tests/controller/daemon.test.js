// SPDX-License-Identifier: LGPL-2.1-or-later
//
// intercomd as a daemon, without a browser: exit codes, signals (TERM stops
// with the relays off, HUP reloads), and the API's refusals. Run through
// tests/e2e/run (which installs playwright-core, imported by station.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Station, PASSWORDS, INTERCOMD, poll, freePort } from '../e2e/station.js';
import { request as httpRequest } from './http.js';

// The CSRF token of each session cookie login() returned; request() sends
// it with every POST of that session, as the web app does.
const csrfOf = new Map();

// One HTTPS request; a POST with a session carries its CSRF token.
function request(station, method, path, opts = {}) {
  return httpRequest(station, method, path,
      { ...opts, csrf: method === 'POST' ? csrfOf.get(opts.cookie) : undefined });
}

async function login(station, user, password) {
  const r = await request(station, 'POST', '/api/v1/login', { body: { user, password } });
  assert.equal(r.status, 200, `login ${user}: ${r.text}`);
  const cookie = r.headers['set-cookie'][0];
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /Secure/i);
  assert.match(cookie, /SameSite=Strict/i);
  csrfOf.set(cookie.split(';')[0], r.json.csrf);
  return cookie.split(';')[0];
}

async function startStation(options) {
  const st = await Station.start(options);
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

test('a bad config exits 78 naming the key; --version; --hash-password; --print-pipeline', async () => {
  const st = await startStation();
  try {
    await st.stop();
    // the call pipeline of this config (vp8 at 800 kbit/s, 640x480@30)
    let r = await runIntercomd(['--config', st.config, '--print-pipeline']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /video\/x-raw,width=640,height=480,framerate=30\/1/);
    assert.match(r.out, /vp8enc [^!]*target-bitrate=800000/);
    assert.match(r.out, /tee name=video/);
    assert.doesNotMatch(r.out, /\$\{|#/, 'variables filled in, comments gone');
    const text = await readFile(st.config, 'utf8');
    await writeFile(st.config, text.replace('framerate=30', 'framerate=fast'));
    r = await runIntercomd(['--config', st.config, '--print-pipeline']);
    assert.equal(r.code, 78, r.err);
    r = await runIntercomd(['--config', st.config]);
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
    r = await runIntercomd(['--hash-password'], 'short\n');
    assert.equal(r.code, 65, 'a password under 8 characters is refused');
    r = await runIntercomd(['--hash-password'], 'a-good-password\n');
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
        { body: { user: 'bob', password: 'bob-password' } })).status, 401);
    const hash = (await runIntercomd(['--hash-password'], 'bob-password\n')).out.trim();
    await writeFile(st.config, text + `\n[user bob]\npassword-hash=${hash}\n`);
    st.proc.kill('SIGHUP');
    await poll(async () => st.output(), (o) => /reloaded /.test(o),
        { what: 'the reload in the log' });
    await login(st, 'bob', 'bob-password');

    await writeFile(st.config, text + '\n[calls]\nmax-call=forever\n');
    st.proc.kill('SIGHUP');
    await poll(async () => st.output(), (o) => /reload: .*\[calls\] max-call/.test(o),
        { what: 'the reload refusal in the log' });
    // still running, and still with bob
    await login(st, 'bob', 'bob-password');
    await st.stop();
  } finally {
    await st.cleanup();
  }
});

test('SIGTERM stops with every relay off', async () => {
  // A 5 s bell pulse, so the stop comes before its end: it may wait for
  // the ring's TLS set-up, which parses the system CA bundle (2 s under
  // AddressSanitizer, whose slow unwinding follows every malloc).
  const st = await startStation({ gpio: 'door-pulse=5000' });
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

// A station from a bare config: no user, no certificate (the first start
// makes both), or plain HTTP.
async function bareStation(extra = '') {
  const st = new Station();
  st.dir = await mkdtemp(join(tmpdir(), 'oi-daemon-'));
  st.port = await freePort();
  st.host = `127.0.0.1:${st.port}`;
  st.config = join(st.dir, 'intercomd.conf');
  await writeFile(st.config, `[station]
host=${st.host}
state-dir=${join(st.dir, 'state')}
[server]
address=127.0.0.1
port=${st.port}
web-root=${join(process.env.OI_SOURCE_ROOT, 'data', 'www')}
pipelines=${join(process.env.OI_SOURCE_ROOT, 'pipelines')}
[gpio]
chip=sim
${extra}`);
  return st;
}

test('first start: a random password printed once, a kept self-signed certificate', async () => {
  const st = await bareStation();
  try {
    await st.spawn();
    const out = st.output();
    const password = out.match(/log in as user "resident" with password +(\S+)/)[1];
    const fingerprint = out.match(/fingerprint ([0-9A-F:]{95})/)[1];
    st.ca = await readFile(join(st.dir, 'state', 'tls', 'cert.pem'));
    assert.equal((await stat(join(st.dir, 'state', 'tls', 'key.pem'))).mode & 0o777, 0o600);
    const users = await readFile(join(st.dir, 'state', 'users.conf'), 'utf8');
    assert.ok(!users.includes(password), 'only the hash is kept');
    assert.match(users, /\[user resident\]\npassword-hash=\$argon2id\$/);
    // the printed password works; /me shows the certificate's fingerprint
    const cookie = await login(st, 'resident', password);
    const me = await request(st, 'GET', '/api/v1/me', { cookie });
    assert.equal(me.json.fingerprint, fingerprint);
    await st.stop();

    // the second start: no new password, the same certificate
    await st.spawn();
    assert.ok(!/password/.test(st.output()), st.output());
    assert.equal(st.output().match(/fingerprint ([0-9A-F:]{95})/)[1], fingerprint);
    await login(st, 'resident', password);
    await st.stop();
  } finally {
    await rm(st.dir, { recursive: true, force: true });
  }
});

test('tls=false: plain HTTP, with a warning; the cookie is not Secure', async () => {
  const st = await bareStation();
  try {
    const text = await readFile(st.config, 'utf8');
    await writeFile(st.config, text.replace('[server]\n', '[server]\ntls=false\n'));
    await st.spawn();
    assert.match(st.output(), /TLS is off/);
    assert.match(st.output(), /ready at http:\/\//);
    const password = st.output().match(/with password +(\S+)/)[1];
    const r = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: st.port, method: 'POST',
        path: '/api/v1/login', agent: false, headers: { 'Content-Type': 'application/json' } },
      (res) => { res.resume(); res.on('end', () => resolve(res)); });
      req.on('error', reject);
      req.end(JSON.stringify({ user: 'resident', password }));
    });
    assert.equal(r.statusCode, 200);
    assert.ok(!/Secure/i.test(r.headers['set-cookie'][0]), r.headers['set-cookie'][0]);
    await st.stop();
  } finally {
    await rm(st.dir, { recursive: true, force: true });
  }
});

test('users: add, new password and remove take effect at once; config users stay', async () => {
  const st = await startStation();
  try {
    const cfg = ['--config', st.config];
    let r = await runIntercomd([...cfg, '--add-user', 'carol'], 'carol-password-1\n');
    assert.equal(r.code, 0, r.err);
    // the running daemon sees the users file at the next request
    const first = await login(st, 'carol', 'carol-password-1');
    const second = await login(st, 'carol', 'carol-password-1');
    r = await runIntercomd([...cfg, '--list-users']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^alice \(in the config file\)$/m);
    assert.match(r.out, /^carol$/m);
    // refusals: exists, config user, unknown, bad name, short password
    assert.equal((await runIntercomd([...cfg, '--add-user', 'carol'], 'carol-password-2\n')).code, 65);
    assert.equal((await runIntercomd([...cfg, '--set-password', 'alice'], 'alice-password-2\n')).code, 65);
    assert.equal((await runIntercomd([...cfg, '--remove-user', 'nobody'])).code, 65);
    assert.equal((await runIntercomd([...cfg, '--add-user', 'door'], 'door-password-1\n')).code, 65);
    assert.equal((await runIntercomd([...cfg, '--add-user', 'x y'], 'some-password-1\n')).code, 65);
    assert.equal((await runIntercomd([...cfg, '--add-user', 'dave'], 'short\n')).code, 65);
    // a new password ends every session of the user
    r = await runIntercomd([...cfg, '--set-password', 'carol'], 'carol-password-2\n');
    assert.equal(r.code, 0, r.err);
    assert.equal((await request(st, 'GET', '/api/v1/me', { cookie: first })).status, 401);
    assert.equal((await request(st, 'GET', '/api/v1/me', { cookie: second })).status, 401);
    assert.equal((await request(st, 'POST', '/api/v1/login',
        { body: { user: 'carol', password: 'carol-password-1' } })).status, 401);
    const third = await login(st, 'carol', 'carol-password-2');
    // removal ends the sessions and the logins
    assert.equal((await runIntercomd([...cfg, '--remove-user', 'carol'])).code, 0);
    assert.equal((await request(st, 'GET', '/api/v1/me', { cookie: third })).status, 401);
    assert.equal((await request(st, 'POST', '/api/v1/login',
        { body: { user: 'carol', password: 'carol-password-2' } })).status, 401);
    // alice (from the config) was never touched
    await login(st, 'alice', PASSWORDS.alice);
    await st.stop();
  } finally {
    await st.cleanup();
  }
});

test('sessions: CSRF token on every POST, idle expiry', async () => {
  const st = await startStation();
  try {
    const cookie = await login(st, 'alice', PASSWORDS.alice);
    const other = await login(st, 'mallory', PASSWORDS.mallory);
    const body = { active: true };
    const post = (headers) => request(st, 'POST', '/api/v1/sim/inputs/in1',
        { cookie, body, headers });
    // request() adds the session's own token; these override it
    assert.equal((await post({ 'X-CSRF-Token': '' })).status, 403);
    assert.equal((await post({ 'X-CSRF-Token': csrfOf.get(other) })).status, 403);
    assert.equal((await post({ Origin: 'https://evil.example' })).status, 403);
    assert.equal((await post({ Origin: `https://${st.host}` })).status, 204);
    await st.stop();

    // session-idle=5: a session left alone ends, one in use goes on
    const text = await readFile(st.config, 'utf8');
    await writeFile(st.config, text.replace('[server]\n', '[server]\nsession-idle=5\n'));
    await st.spawn();
    const idle = await login(st, 'alice', PASSWORDS.alice);
    const busy = await login(st, 'alice', PASSWORDS.alice);
    const start = Date.now();
    // time passing is what is tested here: the busy session is used every
    // 2 s while the idle one waits out its 5 s
    for (let t = 2000; t <= 6000; t += 2000) {
      await new Promise((resolve) => setTimeout(resolve, start + t - Date.now()));
      assert.equal((await request(st, 'GET', '/api/v1/me', { cookie: busy })).status, 200);
    }
    assert.equal((await request(st, 'GET', '/api/v1/me', { cookie: idle })).status, 401);
    await st.stop();
  } finally {
    await st.cleanup();
  }
});

test('sessions: kept across a restart; a malformed file is refused with a warning naming it', async () => {
  const st = await startStation();
  try {
    const file = join(st.dir, 'state', 'sessions');
    const cookie = await login(st, 'alice', PASSWORDS.alice);
    await st.stop();
    await st.spawn();
    assert.equal((await request(st, 'GET', '/api/v1/me', { cookie })).status, 200);
    await st.stop();

    // one field out of place: no session, the daemon serves
    const text = await readFile(file, 'utf8');
    assert.match(text, /^user=alice$/m);
    for (const bad of [text.replace('user=alice', 'user=al ice'), randomBytes(4096),
      text.replace(/^created=\d+$/m, 'created=-1')]) {
      await writeFile(file, bad);
      await st.spawn();
      assert.ok(st.log.some((l) => l.includes('WARNING') && l.includes(file)
          && l.includes('starting with no sessions')), st.output());
      assert.equal((await request(st, 'GET', '/api/v1/me', { cookie })).status, 401);
      // a login writes a good file again
      const again = await login(st, 'alice', PASSWORDS.alice);
      await st.stop();
      await st.spawn();
      assert.ok(!st.log.some((l) => l.includes('WARNING')), st.output());
      assert.equal((await request(st, 'GET', '/api/v1/me', { cookie: again })).status, 200);
      await st.stop();
    }
  } finally {
    await st.cleanup();
  }
});
