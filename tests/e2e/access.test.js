// SPDX-License-Identifier: LGPL-2.1-or-later
// Who may do what: a user outside the allow-list, a wrong password, no session.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, getState,
  waitHook, withLogs, poll,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

// In a page: open a WSP socket, send `msg` on open, collect what comes back
// until the socket closes (at most 10 s).
function wspExchange(page, msg) {
  return page.evaluate((m) => new Promise((resolve) => {
    const got = { opened: false, messages: [], closed: false };
    const ws = new WebSocket('wss://' + location.host + '/wsp', 'wsp-1.0');
    const done = () => { got.closed = ws.readyState === WebSocket.CLOSED; resolve(got); };
    const timer = setTimeout(() => { ws.close(); done(); }, 10000);
    ws.onopen = () => { got.opened = true; ws.send(JSON.stringify(m)); };
    ws.onmessage = (ev) => got.messages.push(JSON.parse(ev.data));
    ws.onclose = () => { clearTimeout(timer); done(); };
  }), msg);
}

describe('access control', { skip }, () => {
  let station, browser, mallory, anon;
  const run = (fn) => withLogs(station, () => [mallory, anon], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    browser = await launchBrowser();
  });

  after(() => shutDown(browser, station));

  test('a caller outside the allow-list gets bye 403', () => run(async () => {
    mallory = await openPage(browser, station, 'mallory');
    await waitHook(mallory.page, () => window.intercom.registered === true);
    await mallory.page.click('#call-door');
    await waitHook(mallory.page, () => window.intercom.lastBye && window.intercom.lastBye.code === 403);
    await waitHook(mallory.page, () => window.intercom.state === 'ended');
    assert.match(await mallory.page.textContent('#message'), /not allowed/i);
    const s = await mallory.page.evaluate(() => ({
      states: window.intercom.states, pc: window.intercom.lastPc !== null,
    }));
    assert.ok(!s.states.includes('connected'), 'never connected: ' + s.states);
    assert.equal(s.pc, false, 'no peer connection was made');
    const st = await getState(mallory, station);
    assert.deepEqual(st.calls, []);
  }));

  test('registering another user\'s address gets bye 403', () => run(async () => {
    const got = await wspExchange(mallory.page, ['register', { uri: station.uri('alice') }]);
    assert.ok(got.messages.some((m) => m[0] === 'bye' && m[1].code === 403), JSON.stringify(got));
    assert.ok(!got.messages.some((m) => m[0] === 'registered'), JSON.stringify(got));
  }));

  test('an invite with a caller.uri that is not the socket\'s identity gets bye 403', () => run(async () => {
    const got = await wspExchange(mallory.page, ['invite', {
      caller: { uri: station.uri('alice') }, callee: { uri: station.doorUri },
    }]);
    assert.ok(got.messages.some((m) => m[0] === 'bye' && m[1].code === 403), JSON.stringify(got));
    assert.ok(!got.messages.some((m) => m[0] === 'offer'), JSON.stringify(got));
    const st = await getState(mallory, station);
    assert.deepEqual(st.calls, []);
  }));

  test('a wrong password: 401 and #login-error', () => run(async () => {
    anon = await openPage(browser, station, 'alice', { login: false });
    await anon.page.waitForSelector('#login-form', { state: 'visible' });
    await anon.page.fill('#user', 'alice');
    await anon.page.fill('#password', 'not-the-password');
    const [res] = await Promise.all([
      anon.page.waitForResponse((r) => r.url().endsWith('/api/v1/login')),
      anon.page.click('#login-form button[type=submit]'),
    ]);
    assert.equal(res.status(), 401);
    await anon.page.waitForSelector('#login-error', { state: 'visible' });
    assert.equal(await anon.page.isVisible('#main'), false);
    assert.equal(await anon.page.evaluate(() => window.intercom.state), 'login');
  }));

  test('without a session: the API answers 401, the WSP socket is refused', () => run(async () => {
    for (const path of ['me', 'state', 'history']) {
      const r = await anon.context.request.get(station.url + '/api/v1/' + path);
      assert.equal(r.status(), 401, path);
    }
    const r = await anon.context.request.post(station.url + '/api/v1/sim/inputs/bell',
        { data: { active: true } });
    assert.equal(r.status(), 401, 'sim input without a session');
    const got = await wspExchange(anon.page, ['register', { uri: station.uri('alice') }]);
    assert.ok(!got.messages.some((m) => m[0] === 'registered'), JSON.stringify(got));
    assert.ok(!got.opened || got.messages.some((m) => m[0] === 'bye' && m[1].code === 401),
        'refused at the upgrade or with bye 401: ' + JSON.stringify(got));
    const st = await poll(() => getState(mallory, station), () => true);
    assert.equal(st.inputs.bell, false, 'the bell was not pressed');
  }));
});
