// SPDX-License-Identifier: LGPL-2.1-or-later
//
// End-to-end test helpers: a real intercomd on 127.0.0.1 with a fresh
// config, certificate and state directory, and Debian's Chromium driven by
// playwright-core (DESIGN.md §6, pitfalls 11 and 19).

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const execFileP = promisify(execFile);

export const INTERCOMD = process.env.INTERCOMD;
export const SOURCE_ROOT = process.env.OI_SOURCE_ROOT;
export const CHROMIUM = process.env.OI_CHROMIUM || '/usr/bin/chromium';
export const PASSWORDS = { alice: 'alice-secret-1', mallory: 'mallory-secret-2' };

const READY = 'intercomd: ready at http';

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Poll `get` until `check(value)` holds; the last value is returned.
// Throws with `what` and the last value (or error) at the deadline.
export async function poll(get, check, { timeout = 15000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last, lastError;
  for (;;) {
    try {
      last = await get();
      lastError = undefined;
      if (check(last))
        return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? 'error: ' + (lastError.stack || lastError)
          : 'last value: ' + JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; ${detail}`);
    }
    await sleep(interval);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function hashPassword(password) {
  return new Promise((resolve, reject) => {
    const child = spawn(INTERCOMD, ['--hash-password'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const hash = out.trim();
      if (code !== 0 || !hash)
        reject(new Error(`intercomd --hash-password exited ${code}: ${err}`));
      else
        resolve(hash);
    });
    child.stdin.end(password);
  });
}

// A running intercomd. `codec`: 'vp8' or 'h264' (or a preference list,
// 'h264,vp8'). `pipelines`, `pipeline`: where the call pipeline comes from;
// `gpio`: more lines for that group; `extra`: more groups. `address`: the
// one the pages reach it at (ICE uses it too; the server listens on all of
// a test namespace's addresses when it is not loopback).
// `role`: 'home-server' for a station with no door; `ring`: the ring
// targets (default: alice here); `allowCallers`: default alice here, null:
// the key left out (its default); `ice`: more [ice] keys; `prefix`: a
// command intercomd runs under (e.g. ip netns exec NS).
export class Station {
  static async start({ codec = 'vp8', echoCancel = false, extra = '',
    allowNetworks = '127.0.0.0/8', bitrate = 800, pipeline = 'test',
    pipelines = null, gpio = '', address = '127.0.0.1', role = 'door',
    ring = undefined, allowCallers = undefined, ice = '', prefix = [] } = {}) {
    assert.ok(INTERCOMD, 'INTERCOMD is not set');
    assert.ok(SOURCE_ROOT, 'OI_SOURCE_ROOT is not set');
    const st = new Station();
    st.codec = codec;
    st.prefix = prefix;
    st.dir = await mkdtemp(join(tmpdir(), 'oi-e2e-'));
    st.port = await freePort();
    st.host = `${address}:${st.port}`;
    st.url = `https://${st.host}`;
    st.uri = (user) => `${user}@${st.host}`;
    st.doorUri = st.uri('door');
    st.cert = join(st.dir, 'cert.pem');
    st.key = join(st.dir, 'key.pem');
    await mkdir(join(st.dir, 'state'));
    await execFileP('openssl', ['req', '-x509', '-newkey', 'ec',
      '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', st.key, '-out', st.cert]);
    const hashes = {};
    for (const [user, pw] of Object.entries(PASSWORDS))
      hashes[user] = await hashPassword(pw);

    st.config = join(st.dir, 'intercomd.conf');
    await writeFile(st.config, `# e2e test station
[station]
host=${st.host}
door=door
name=Test door
role=${role}
state-dir=${join(st.dir, 'state')}

[server]
address=${address === '127.0.0.1' ? address : '0.0.0.0'}
port=${st.port}
certificate=${st.cert}
private-key=${st.key}
web-root=${join(SOURCE_ROOT, 'data', 'www')}
pipelines=${pipelines ?? join(SOURCE_ROOT, 'pipelines')}

[media]
pipeline=${pipeline}
codecs=${codec}
width=640
height=480
framerate=30
bitrate=${bitrate}
echo-cancel=${echoCancel}

[gpio]
chip=sim
${gpio}

[calls]
ring=${ring ?? st.uri('alice')}
ring-timeout=30
${allowCallers === null ? '' : `allow-callers=${allowCallers ?? st.uri('alice')}`}
allow-networks=${allowNetworks}

[ice]
local-addresses=${address}
${ice}

[user alice]
password-hash=${hashes.alice}

[user mallory]
password-hash=${hashes.mallory}
${extra}`);
    await st.spawn();
    return st;
  }

  async spawn() {
    this.log = [];
    const argv = [...(this.prefix ?? []), INTERCOMD, '--config', this.config];
    this.proc = spawn(argv[0], argv.slice(1),
        { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    let readyResolve;
    const ready = new Promise((resolve) => { readyResolve = resolve; });
    const collect = (stream, name) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.log.push(`[${name}] ${line}`);
          if (line.includes(READY))
            readyResolve();
        }
      });
      stream.on('end', () => {
        if (buf)
          this.log.push(`[${name}] ${buf}`);
      });
    };
    collect(this.proc.stdout, 'out');
    collect(this.proc.stderr, 'err');
    const timeout = sleep(30000).then(() => 'timeout');
    const r = await Promise.race([ready.then(() => 'ready'),
      this.exited.then((e) => e), timeout]);
    if (r !== 'ready') {
      if (r === 'timeout')
        this.proc.kill('SIGKILL');
      throw new Error(`intercomd did not start (${JSON.stringify(r)}):\n${this.output()}`);
    }
  }

  output() {
    return this.log.join('\n');
  }

  // How many lines of the station's output include `text`.
  count(text) {
    return this.log.filter((l) => l.includes(text)).length;
  }

  // Rewrites the config with `edit(text)` and reloads it (SIGHUP); done
  // once the station says it reloaded.
  async reconfigure(edit) {
    await writeFile(this.config, edit(await readFile(this.config, 'utf8')));
    const before = this.count('reloaded');
    this.proc.kill('SIGHUP');
    await poll(async () => this.count('reloaded'), (n) => n > before,
        { what: `${this.host}: the config reloaded` });
  }

  // Stop with SIGTERM; the exit must be 0 within 15 s.
  async stop() {
    if (!this.proc)
      return;
    const proc = this.proc;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null)
      proc.kill('SIGTERM');
    const r = await Promise.race([this.exited, sleep(15000).then(() => null)]);
    if (r === null) {
      proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`intercomd did not exit within 15 s of SIGTERM:\n${this.output()}`);
    }
    assert.deepEqual(r, { code: 0, signal: null },
        `intercomd exit after SIGTERM:\n${this.output()}`);
  }

  async cleanup() {
    if (this.dir && !process.env.OI_E2E_KEEP)
      await rm(this.dir, { recursive: true, force: true });
  }
}

// A door elsewhere that registers at a home server: its [door NAME] group
// there, and its [home-server] group at the door (the home server's
// certificate pinned).
export function doorGroup(token, name = 'front', display = 'Front door') {
  return `\n[door ${name}]\ntoken=${token}\nname=${display}\n`;
}

export function homeServerGroup(home, token, user = 'front') {
  return `\n[home-server]\nurl=wss://${home.host}/wsp\ntoken=${token}\n` +
      `user=${user}\ncertificate=${home.cert}\n`;
}

// ----------------------------------------------------------------- browser

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--ignore-certificate-errors',
];

export function chromiumAvailable() {
  return existsSync(CHROMIUM);
}

// For describe(..., { skip: SKIP_WITHOUT_CHROMIUM }).
export const SKIP_WITHOUT_CHROMIUM = !chromiumAvailable() && 'no Chromium at /usr/bin/chromium';

// The end of a browser test file: the browser closed, the station stopped
// (exit 0 asserted) and its directory removed, whichever exist.
export async function shutDown(browser, station) {
  await browser?.close();
  try {
    await station?.stop();
  } finally {
    await station?.cleanup();
  }
}

// `executablePath`: e.g. a wrapper that runs Chromium in a test network
// namespace.
export async function launchBrowser({ executablePath = CHROMIUM, env } = {}) {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS,
    ...(env ? { env: { ...process.env, ...env } } : {}) });
}

// A logged-in page: a fresh context, the real login form.
// Returns { context, page, log } where log collects console and page errors.
// `contextOptions`: more for the browser context (a viewport, touch).
export async function openPage(browser, station, user = 'alice',
    { login = true, contextOptions = {} } = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, ...contextOptions });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${user} console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[${user} pageerror] ${e.stack || e}`));
  page.on('crash', () => log.push(`[${user}] page crashed`));
  await page.goto(station.url + '/');
  if (login) {
    await page.waitForSelector('#login-form', { state: 'visible' });
    await page.fill('#user', user);
    await page.fill('#password', PASSWORDS[user]);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/login')),
      page.click('#login-form button[type=submit]'),
    ]);
    assert.equal(res.status(), 200, `login of ${user}`);
    await page.waitForSelector('#main', { state: 'visible' });
    await page.waitForFunction(() => window.intercom && window.intercom.state === 'idle');
  }
  return { context, page, log, user };
}

// ---------------------------------------------------------------- the API

// JSON API calls with a page's session (its context shares the cookies).
export async function apiGet(ctx, station, path) {
  const r = await ctx.context.request.get(station.url + '/api/v1/' + path);
  assert.equal(r.status(), 200, `GET ${path}: ${r.status()} ${await r.text()}`);
  return r.json();
}

// A POST carries the session's CSRF token, as the web app's do (asked for
// once per page context: its session keeps it).
export async function apiPost(ctx, station, path, body, expect = 204) {
  ctx.csrf ??= (await apiGet(ctx, station, 'me')).csrf;
  const r = await ctx.context.request.post(station.url + '/api/v1/' + path,
      { headers: { 'X-CSRF-Token': ctx.csrf }, ...(body === undefined ? {} : { data: body }) });
  assert.equal(r.status(), expect, `POST ${path}: ${r.status()} ${await r.text()}`);
  return r;
}

// Press and release a simulated input; held until the station reports it
// active, and released until it reports it released (so the next press is
// a new edge, not one inside this press's debounce mask).
export async function press(ctx, station, input) {
  await apiPost(ctx, station, `sim/inputs/${input}`, { active: true });
  await poll(() => getState(ctx, station), (s) => s.inputs && s.inputs[input] === true,
      { timeout: 5000, interval: 20, what: `inputs.${input} true` });
  await apiPost(ctx, station, `sim/inputs/${input}`, { active: false });
  await poll(() => getState(ctx, station), (s) => s.inputs && s.inputs[input] === false,
      { timeout: 5000, interval: 20, what: `inputs.${input} false` });
}

export function getState(ctx, station) {
  return apiGet(ctx, station, 'state');
}

// ----------------------------------------------------------- page helpers

export async function waitHook(page, predicate, arg, timeout = 15000) {
  await page.waitForFunction(predicate, arg, { timeout, polling: 100 });
}

export function stats(page) {
  return page.evaluate(() => window.intercom.stats());
}

// Video frames are decoded and keep coming; audio energy grows.
export async function expectMedia(page, { codec, what = 'media' } = {}) {
  const first = await poll(() => stats(page), (s) => s.framesDecoded > 0,
      { timeout: 20000, what: `${what}: first decoded frame` });
  const later = await poll(() => stats(page), (s) => s.framesDecoded >= first.framesDecoded + 15,
      { timeout: 15000, what: `${what}: frames keep being decoded` });
  assert.equal(later.frameWidth, 640, `${what}: frame width`);
  assert.equal(later.frameHeight, 480, `${what}: frame height`);
  if (codec)
    assert.equal(later.videoCodec, codec, `${what}: video codec`);
  const a = await poll(() => stats(page), (s) => s.totalAudioEnergy > 0,
      { timeout: 15000, what: `${what}: audio energy` });
  await poll(() => stats(page), (s) => s.totalAudioEnergy > a.totalAudioEnergy,
      { timeout: 15000, what: `${what}: audio energy grows` });
  return later;
}

// The door hears the page's fake microphone (its beep).
export async function expectDoorHears(ctx, station) {
  const st = await poll(() => getState(ctx, station),
      (s) => s.calls && s.calls.length === 1 && typeof s.calls[0].audio_in_db === 'number'
          && s.calls[0].audio_in_db > -60,
      { timeout: 20000, what: 'calls[0].audio_in_db > -60 (the door hears the page)' });
  return st;
}

// in1 pressed at the door → the page's io channel gets the edge and the lamp.
export async function expectInputSeen(ctx, station) {
  await apiPost(ctx, station, 'sim/inputs/in1', { active: true });
  await waitHook(ctx.page, () => window.intercom.io.some((m) => m[0] === 'input'
      && m[1] && m[1].name === 'in1' && m[1].active === true));
  await waitHook(ctx.page, () => document.getElementById('input-in1')?.classList.contains('on'));
  await apiPost(ctx, station, 'sim/inputs/in1', { active: false });
  await waitHook(ctx.page, () => window.intercom.io.some((m) => m[0] === 'input'
      && m[1] && m[1].name === 'in1' && m[1].active === false));
  await waitHook(ctx.page, () => !document.getElementById('input-in1').classList.contains('on'));
}

// #open-door → the door relay pulses: on, then off by itself.
export async function expectDoorOpens(ctx, station) {
  const ioBefore = await ctx.page.evaluate(() => window.intercom.io.length);
  await ctx.page.click('#open-door');
  await poll(() => getState(ctx, station), (s) => s.relays && s.relays.door === true,
      { timeout: 5000, interval: 50, what: 'relays.door true after #open-door' });
  await poll(() => getState(ctx, station), (s) => s.relays && s.relays.door === false,
      { timeout: 10000, interval: 100, what: 'relays.door false again (the pulse ends by itself)' });
  await waitHook(ctx.page, (n) => {
    const rel = window.intercom.io.slice(n).filter((m) => m[0] === 'relay' && m[1].name === 'door');
    const on = rel.findIndex((m) => m[1].active === true);
    return on >= 0 && rel.slice(on + 1).some((m) => m[1].active === false);
  }, ioBefore);
  assert.equal(await ctx.page.evaluate(() => window.intercom.io.some((m) => m[0] === 'error')),
      false, 'no io error');
}

export async function expectNoCall(ctx, station, what = 'no call at the door') {
  return poll(() => getState(ctx, station), (s) => Array.isArray(s.calls) && s.calls.length === 0,
      { timeout: 15000, what });
}

// Run `fn`; on failure print the station's and pages' logs.
export async function withLogs(station, pages, fn) {
  try {
    await fn();
  } catch (e) {
    console.error('---- intercomd output ----\n' + (station ? station.output() : '(none)'));
    for (const p of pages()) {
      if (!p)
        continue;
      console.error(`---- page log (${p.user}) ----\n` + p.log.join('\n'));
      try {
        console.error(`---- window.intercom (${p.user}) ----\n` + await p.page.evaluate(() =>
          JSON.stringify({ ...window.intercom, lastInvite: window.intercom.lastInvite
            && [window.intercom.lastInvite[0], window.intercom.lastInvite[1]] }, null, 1)));
      } catch (err) { /* page gone */ }
    }
    // The reporter's closing list of failures (the end of a long log is
    // all CI shows) carries the station's last words with the error.
    if (station && e instanceof Error)
      e.stack = `${e.stack}\n---- intercomd, last lines ----\n${station.log.slice(-8).join('\n')}`;
    throw e;
  }
}
