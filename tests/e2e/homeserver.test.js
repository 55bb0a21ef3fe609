// SPDX-License-Identifier: LGPL-2.1-or-later
// A household's home server (intercomd with role=home-server: no door of
// its own) and a door station that registers there ([home-server]) as
// front@<home server>: the page at the home server sees the door, calls it
// (mode 2 through the home server), is rung by its bell (mode 1 through the
// home server), and after a restart of the home server the door registers
// again by itself. Two intercomd on 127.0.0.1 (their own ports); the door's
// certificate pin is the home server's certificate.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Station, doorGroup, homeServerGroup, launchBrowser, openPage, apiGet, getState, press, poll,
  waitHook, expectMedia, expectDoorHears, expectNoCall, withLogs,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;
const TOKEN = 'e2e-door-token-0123456789abcdefghijklmnop';
const REGISTERED = 'registered at home server';

describe('a door registered at a home server', { skip }, () => {
  let home, door, browser, alice, atDoor;
  const homeUri = (user) => home.uri(user);
  const run = (fn) => withLogs(door, () => [alice], async () => {
    try {
      await fn();
    } catch (e) {
      console.error('---- home server output ----\n' + home.output());
      throw e;
    }
  });
  const registrations = () => door.count(REGISTERED);

  before(async () => {
    home = await Station.start({ role: 'home-server', extra: doorGroup(TOKEN) });
    // The door: its bell rings alice at the home server; anyone the home
    // server vouches for may call it (allow-callers left at its default).
    door = await Station.start({ codec: 'vp8', ring: homeUri('alice'),
      allowCallers: null, extra: homeServerGroup(home, TOKEN) });
    browser = await launchBrowser();
    alice = await openPage(browser, home, 'alice');
    atDoor = await openPage(browser, door, 'alice');
  });

  after(async () => {
    await shutDown(browser, door);
    await home?.stop();
    await home?.cleanup();
  });

  test('the home server has no door of its own; the door registers there', () => run(async () => {
    const me = await apiGet(alice, home, 'me');
    assert.equal(me.role, 'home-server');
    assert.equal(me.door, null);
    assert.equal(me.sim, false);
    const st = await poll(() => getState(alice, home),
        (s) => s.doors && s.doors.length === 1 && s.doors[0].registered,
        { what: 'doors[0].registered at the home server' });
    assert.deepEqual(st.doors[0], { uri: homeUri('front'), name: 'Front door', registered: true });
    assert.deepEqual(st.calls, []);
    assert.equal(st.inputs, undefined, 'no GPIO at a home server');
    assert.ok(door.output().includes(`${REGISTERED} wss://${home.host}/wsp as ${homeUri('front')}`));
    // The page: no "Call the door" of its own, a button for the front door.
    await waitHook(alice.page, () => window.intercom.doors.length === 1
        && window.intercom.doors[0].registered);
    assert.equal(await alice.page.isVisible('#call-door'), false);
    assert.equal(await alice.page.isEnabled('#doors button'), true);
    assert.match(await alice.page.textContent('#doors button'), /Front door/);
  }));

  test('mode 2 through the home server: media, the door opens', () => run(async () => {
    await alice.page.click('#doors button');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(alice.page, { codec: 'vp8', what: 'mode 2 via the home server' });
    const st = await expectDoorHears(atDoor, door);
    assert.equal(st.calls[0].mode, 'door');
    // The identity the home server vouches for.
    assert.equal(st.calls[0].peers[0].uri, homeUri('alice'));

    await alice.page.click('#open-door');
    await poll(() => getState(atDoor, door), (s) => s.relays.door === true,
        { timeout: 5000, interval: 50, what: 'the door relay on' });
    await poll(() => getState(atDoor, door), (s) => s.relays.door === false,
        { timeout: 10000, what: 'the door relay off by itself' });
    const audit = await readFile(join(door.dir, 'state', 'audit.log'), 'utf8');
    assert.ok(audit.split('\n').some((l) => l.includes(`peer=${homeUri('alice')} `)
        && l.includes('relay=door action=pulse')), 'the pulse is audited with who asked');

    await alice.page.click('#hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(atDoor, door);
    // Registered again for the next call.
    await poll(() => getState(alice, home), (s) => s.doors[0].registered,
        { what: 'the door registered again after the call' });
  }));

  test('mode 1 through the home server: the bell rings the page there', () => run(async () => {
    await press(atDoor, door, 'bell');
    await waitHook(alice.page, () => window.intercom.state === 'ringing', undefined, 10000);
    const invite = await alice.page.evaluate(() => window.intercom.lastInvite);
    assert.equal(invite[1].caller.uri, homeUri('front'));
    assert.equal(invite[1].callee.uri, homeUri('alice'));
    await alice.page.click('#answer');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(alice.page, { codec: 'vp8', what: 'mode 1 via the home server' });
    const st = await getState(atDoor, door);
    assert.equal(st.calls[0].mode, 'bell');
    assert.equal(st.calls[0].peers[0].uri, homeUri('alice'));
    await alice.page.click('#hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(atDoor, door);
    const history = await apiGet(atDoor, door, 'history');
    assert.equal(history.calls[0].mode, 'bell');
    assert.equal(history.calls[0].answered, true);
    assert.deepEqual(history.calls[0].peers, [homeUri('alice')]);
  }));

  test('the home server restarts: the door registers again by itself', () => run(async () => {
    const before = registrations();
    await home.stop();
    const stopped = Date.now();
    await poll(async () => door.output(), (o) => o.includes('lost the registration'),
        { what: 'the door notices the home server gone' });
    // The bell while the home server is away: the bell relay still
    // sounds, and the ring that reached nobody is in the history.
    // (the last test's bell pulse over first: a press while the relay is
    // on extends the pulse, with no edge to count)
    const relaysBefore = await poll(() => apiGet(atDoor, door, 'sim/relays'),
        (r) => !r.bell.active, { what: 'the bell relay off' });
    const historyBefore = (await apiGet(atDoor, door, 'history')).calls.length;
    await press(atDoor, door, 'bell');
    await poll(() => apiGet(atDoor, door, 'sim/relays'),
        (r) => r.bell.changes >= relaysBefore.bell.changes + 2,
        { what: 'the bell relay pulsed (on and off) during the outage' });
    const failed = await poll(() => apiGet(atDoor, door, 'history'),
        (h) => h.calls.length === historyBefore + 1,
        { what: 'the failed ring in the history' });
    assert.equal(failed.calls[0].mode, 'bell');
    assert.equal(failed.calls[0].answered, false);
    await expectNoCall(atDoor, door);
    await home.spawn();
    const ready = Date.now();
    await poll(async () => registrations(), (n) => n > before,
        { timeout: 10000, interval: 20, what: 'the door registered again' });
    const again = Date.now() - ready;
    console.log(`home server restart: the door registered again ${again} ms after "ready" ` +
        `(${ready - stopped} ms down)`);
    assert.ok(again < 5000, `registered again within 5 s of the server (${again} ms)`);
    // The page reconnects too (its session survived), and the call works.
    await waitHook(alice.page, () => window.intercom.registered === true, undefined, 10000);
    await waitHook(alice.page, () => window.intercom.doors.length === 1
        && window.intercom.doors[0].registered, undefined, 10000);
    await alice.page.click('#doors button');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
    await alice.page.click('#hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(atDoor, door);
  }));

  test("a new token at the home server ends the door's registration made with the old one", () => run(async () => {
    const newToken = 'n'.repeat(40);
    await home.reconfigure((t) => t.replace(`token=${TOKEN}`, `token=${newToken}`));
    await poll(() => getState(alice, home), (st) => !st.doors[0].registered,
        { what: 'the old registration ended' });
    await poll(async () => door.output(), (o) => /home server .*401/.test(o),
        { what: 'the door, with the old token, refused (401)' });
    // Back to the door's token: it registers again by itself.
    await home.reconfigure((t) => t.replace(`token=${newToken}`, `token=${TOKEN}`));
    await poll(() => getState(alice, home), (st) => st.doors[0].registered,
        { what: 'registered again with the right token' });
  }));

  test('a door with a wrong token is refused and keeps trying; no call reaches it', () => run(async () => {
    const wrong = await Station.start({ extra: homeServerGroup(home, 'x'.repeat(40)) });
    try {
      await poll(async () => wrong.output(), (o) => /home server .*401/.test(o),
          { what: 'the wrong token refused with 401' });
      assert.equal(wrong.output().includes(REGISTERED), false);
      // The real door's registration stands.
      const st = await getState(alice, home);
      assert.equal(st.doors[0].registered, true);
    } finally {
      await wrong.stop();
      await wrong.cleanup();
    }
  }));
});
