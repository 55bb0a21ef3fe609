// SPDX-License-Identifier: LGPL-2.1-or-later
// Sessions survive a restart of intercomd (SIGTERM, SIGKILL) on the same
// state directory and port: a phone-sized page logged in before it is
// registered again by itself, without a log-in, and rings at the first
// bell press; a log-out stays a log-out; a session past its lifetime does
// not come back.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Station, launchBrowser, openPage, press, poll, waitHook, expectNoCall,
  withLogs, shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';
import { request as httpRequest } from '../controller/http.js';

const skip = SKIP_WITHOUT_CHROMIUM;
const PHONE = { width: 390, height: 844 };
const RESTARTS = 3;   // of each kind, for the figures printed

// A logged-in page in a phone-sized viewport, through the real login form,
// registered; with its session token.
async function openPhonePage(browser, station, user = 'alice') {
  const ctx = await openPage(browser, station, user,
      { contextOptions: { viewport: PHONE, hasTouch: true } });
  await ctx.page.waitForFunction(() => window.intercom && window.intercom.registered === true);
  const cookie = (await ctx.context.cookies()).find((c) => c.name === 'oi_session');
  assert.ok(cookie, 'the session cookie');
  return { ...ctx, token: cookie.value, loginAt: Date.now() };
}

function me(station, ctx) {
  return httpRequest(station, 'GET', '/api/v1/me', { cookie: `oi_session=${ctx.token}` });
}

async function kill(station) {
  const proc = station.proc;
  station.proc = null;
  proc.kill('SIGKILL');
  const r = await station.exited;
  assert.equal(r.signal, 'SIGKILL', 'intercomd was killed');
}

async function onLoginForm(ctx) {
  await ctx.page.waitForSelector('#login-form', { state: 'visible', timeout: 10000 });
  assert.equal(await ctx.page.isVisible('#main'), false);
  assert.equal(await ctx.page.evaluate(() => window.intercom.state), 'login');
  assert.equal(await ctx.page.evaluate(() => window.intercom.connection), 'offline');
}

describe('sessions survive a restart', { skip }, () => {
  let station, browser, a, b, c;
  const run = (fn) => withLogs(station, () => [a, b, c], fn);
  const times = { SIGTERM: [], SIGKILL: [] };

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    station.ca = await readFile(station.cert);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const [signal, t] of Object.entries(times))
      if (t.length)
        console.log(`restart: ${signal}: registered again after ${t.join(', ')} ms ` +
            `(from the "ready" line; max ${Math.max(...t)} ms)`);
    await shutDown(browser, station);
  });

  // Stop (by `signal`) and start again; the page shows it is
  // reconnecting meanwhile, never the login form, and is registered again
  // within 5 s of the "ready" line; then the bell rings it. `attempts`: the
  // station stays away until the page has tried that many times (each try
  // asks GET me, refused while the port is closed).
  async function restart(ctx, signal, { attempts = 0 } = {}) {
    await waitHook(ctx.page, () => window.intercom.registered === true);
    const from = await ctx.page.evaluate(() => window.intercom.states.length);
    if (signal === 'SIGTERM')
      await station.stop();
    else
      await kill(station);
    await waitHook(ctx.page, () => window.intercom.connection === 'reconnecting'
        && window.intercom.registered === false);
    assert.equal(await ctx.page.textContent('#connection'), 'reconnecting…');
    assert.equal(await ctx.page.isVisible('#login'), false, 'no login form while the station is away');
    assert.equal(await ctx.page.isVisible('#main'), true);
    const refused = () => ctx.log.filter((l) => l.includes('ERR_CONNECTION_REFUSED')).length;
    const before = refused();
    await poll(() => refused() - before, (n) => n >= attempts,
        { timeout: 30000, what: `${attempts} attempts of the page to come back` });
    assert.equal(await ctx.page.isVisible('#login'), false, 'no login form while the station is away');
    assert.equal(await ctx.page.evaluate(() => window.intercom.connection), 'reconnecting');

    await station.spawn();
    const ready = Date.now();
    await poll(() => ctx.page.evaluate(() => window.intercom.registered), (r) => r === true,
        { timeout: 5000, interval: 10, what: `registered again within 5 s of "ready" (${signal})` });
    const ms = Date.now() - ready;
    times[signal].push(ms);
    console.log(`restart: registered again after ${ms} ms (${signal}` +
        (attempts ? `, away for ${attempts} attempts)` : ')'));

    const s = await ctx.page.evaluate((n) => ({
      states: window.intercom.states.slice(n), connection: window.intercom.connection,
    }), from);
    assert.ok(!s.states.includes('login'), 'never back to the login form: ' + s.states);
    assert.equal(s.connection, 'ready');
    assert.equal(await ctx.page.textContent('#connection'), 'ready');
    assert.equal(await ctx.page.isVisible('#login'), false);

    // The first bell press after the restart rings it (the POST carries
    // the CSRF token from before the restart: it was kept too).
    await press(ctx, station, 'bell');
    await waitHook(ctx.page, () => window.intercom.state === 'ringing');
    await ctx.page.click('#decline');
    await waitHook(ctx.page, () => window.intercom.state === 'ended');
    await expectNoCall(ctx, station);
  }

  test('the file keeps a hash of the token, never the token; mode 0600', () => run(async () => {
    a = await openPhonePage(browser, station, 'alice');
    const file = join(station.dir, 'state', 'sessions');
    const st = await stat(file);
    assert.equal(st.mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(a.token), 'the token is not in the file');
    assert.ok(text.includes(createHash('sha256').update(a.token).digest('hex')),
        'its SHA-256 is');
  }));

  test('SIGTERM: registered again with no log-in, the bell rings', () => run(async () => {
    for (let i = 0; i < RESTARTS; i++)
      await restart(a, 'SIGTERM');
  }));

  test('SIGKILL: registered again with no log-in, the bell rings', () => run(async () => {
    for (let i = 0; i < RESTARTS; i++)
      await restart(a, 'SIGKILL');
  }));

  test('a long outage: the retries are capped, registered again within 5 s', () => run(async () => {
    // 250 ms doubling to the 2 s cap, with jitter: 8 attempts take 6-12 s
    await restart(a, 'SIGKILL', { attempts: 8 });
  }));

  test('a log-out before the restart stays a log-out', () => run(async () => {
    b = await openPhonePage(browser, station, 'alice');
    b.user = 'alice (B)';
    assert.equal((await me(station, b)).status, 200);
    await b.page.click('#logout');
    await onLoginForm(b);
    assert.equal((await me(station, b)).status, 401, 'logged out before the restart');
    await station.stop();
    await station.spawn();
    assert.equal((await me(station, b)).status, 401, 'the old cookie after the restart');
    assert.equal((await me(station, a)).status, 200, 'the session that was not logged out');
    await onLoginForm(b);
    await waitHook(a.page, () => window.intercom.registered === true);
  }));

  test('a session past its lifetime does not come back', () => run(async () => {
    // session-lifetime=5 (the least allowed), and A's session older than
    // that when the station is back
    await station.stop();
    const text = await readFile(station.config, 'utf8');
    await writeFile(station.config, text.replace('[server]\n', '[server]\nsession-lifetime=5\n'));
    await poll(() => Date.now() - a.loginAt, (t) => t > 5500,
        { timeout: 10000, what: 'A\'s session older than 5 s' });
    await station.spawn();
    assert.equal((await me(station, a)).status, 401, 'A, older than the lifetime');
    await onLoginForm(a);
    assert.match(await a.page.textContent('#login-error'), /session ended/i);

    // C is logged in within its lifetime; killed, the station is back
    // only after it
    c = await openPhonePage(browser, station, 'alice');
    c.user = 'alice (C)';
    assert.equal((await me(station, c)).status, 200);
    await kill(station);
    await waitHook(c.page, () => window.intercom.connection === 'reconnecting');
    await poll(() => Date.now() - c.loginAt, (t) => t > 5500,
        { timeout: 10000, what: 'the 5 s lifetime passing' });
    await station.spawn();
    assert.equal((await me(station, c)).status, 401, 'C, past its lifetime');
    await onLoginForm(c);
    assert.match(await c.page.textContent('#login-error'), /session ended/i);
  }));
});
