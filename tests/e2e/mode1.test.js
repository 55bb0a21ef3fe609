// SPDX-License-Identifier: LGPL-2.1-or-later
// Mode 1: the bell rings the registered interior page, for VP8 and H.264.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, press, getState, apiGet,
  waitHook, expectMedia, expectDoorHears, expectInputSeen, expectDoorOpens,
  expectNoCall, withLogs, poll,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

for (const codec of ['vp8', 'h264']) {
  describe(`mode 1: the door rings the interior (${codec})`, { skip }, () => {
    let station, browser, alice;
    const run = (fn) => withLogs(station, () => [alice], fn);

    before(async () => {
      station = await Station.start({ codec });
      browser = await launchBrowser();
      alice = await openPage(browser, station, 'alice');
    });

    after(() => shutDown(browser, station));

    test('the page shows the door and its IO after login', () => run(async () => {
      const me = await alice.page.evaluate(() => window.intercom.me);
      assert.equal(me.uri, station.uri('alice'));
      assert.equal(me.door, station.doorUri);
      assert.equal(me.sim, true);
      assert.match(await alice.page.textContent('#station-name'), /Test door/);
      for (const id of ['#input-bell', '#input-in1', '#input-in2', '#relay-bell', '#relay-door'])
        await alice.page.waitForSelector(id, { state: 'attached' });
      assert.equal(await alice.page.isVisible('#panel-link'), true, 'link to the virtual panel');
    }));

    test('the bell rings the page with a snapshot', () => run(async () => {
      await waitHook(alice.page, () => window.intercom.registered === true);
      await press(alice, station, 'bell');
      await waitHook(alice.page, () => window.intercom.state === 'ringing');
      assert.equal(await alice.page.isVisible('#ring'), true, '#ring visible');
      const invite = await alice.page.evaluate(() => window.intercom.lastInvite);
      assert.equal(invite[0], 'invite');
      assert.equal(invite[1].caller.uri, station.doorUri);
      assert.equal(invite[1].callee.uri, station.uri('alice'));
      const src = await alice.page.getAttribute('#ring-snapshot', 'src');
      assert.match(src ?? '', /^data:image\/jpeg;base64,[A-Za-z0-9+/]{100,}/, 'snapshot data URI');
      await waitHook(alice.page, () => {
        const img = document.getElementById('ring-snapshot');
        return img.complete && img.naturalWidth > 0;
      });
      assert.equal(await alice.page.isVisible('#ring-snapshot'), true);
      const st = await getState(alice, station);
      assert.equal(st.calls.length, 1);
      assert.equal(st.calls[0].mode, 'bell');
      assert.equal(st.calls[0].state, 'ringing');
    }));

    test('answering: video and audio both ways, the hand-over', () => run(async () => {
      await alice.page.click('#answer');
      await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
      assert.equal(await alice.page.isVisible('#call'), true, '#call visible');
      assert.equal(await alice.page.isVisible('#ring'), false, '#ring hidden');
      await expectMedia(alice.page, { codec, what: `mode 1 ${codec}` });
      await waitHook(alice.page, () => window.intercom.handedOver === true);
      const st = await expectDoorHears(alice, station);
      assert.equal(st.calls[0].state, 'connected');
      assert.equal(st.calls[0].codec, codec);
      assert.equal(st.calls[0].peers[0].uri, station.uri('alice'));
      // The <video> plays what the pc decodes.
      await waitHook(alice.page, () => {
        const v = document.getElementById('remote-video');
        return v.videoWidth === 640 && v.readyState >= 2 && !v.paused;
      });
    }));

    test('an input edge reaches the page; the page pulses the door relay', () => run(async () => {
      const io = await alice.page.evaluate(() => window.intercom.io);
      assert.ok(io.some((m) => m[0] === 'state' && m[1].relays && 'door' in m[1].relays),
          'io state message on open: ' + JSON.stringify(io));
      await expectInputSeen(alice, station);
      await expectDoorOpens(alice, station);
    }));

    test('hang up from the page', () => run(async () => {
      await alice.page.click('#hangup');
      await waitHook(alice.page, () => window.intercom.state === 'ended');
      await expectNoCall(alice, station);
      const h = await poll(() => apiGet(alice, station, 'history'),
          (x) => x.calls.length >= 1, { what: 'a history entry' });
      assert.equal(h.calls[0].mode, 'bell');
      assert.equal(h.calls[0].answered, true);
      assert.ok(h.calls[0].peers.includes(station.uri('alice')), JSON.stringify(h.calls[0]));
      assert.match(h.calls[0].snapshot ?? '', /^\/api\/v1\/history\/.+\/snapshot\.jpg$/);
      const jpg = await alice.context.request.get(station.url + h.calls[0].snapshot);
      assert.equal(jpg.status(), 200);
      const body = await jpg.body();
      assert.equal(body[0], 0xff);
      assert.equal(body[1], 0xd8, 'a JPEG');
      // The page's history list shows it with its thumbnail.
      await waitHook(alice.page, () =>
        [...document.querySelectorAll('#history img')].some((i) => i.complete && i.naturalWidth > 0));
    }));

    test('a second bell call works', () => run(async () => {
      await waitHook(alice.page, () => window.intercom.registered === true);
      await press(alice, station, 'bell');
      await waitHook(alice.page, () => window.intercom.state === 'ringing');
      await alice.page.click('#answer');
      await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
      await expectMedia(alice.page, { codec, what: `second mode 1 ${codec} call` });
      await alice.page.click('#hangup');
      await waitHook(alice.page, () => window.intercom.state === 'ended');
      await expectNoCall(alice, station);
      const errors = await alice.page.evaluate(() => window.intercom.errors);
      assert.deepEqual(errors.filter((e) => !/^microphone/.test(e) && !/addIceCandidate/.test(e)), [],
          'page errors');
    }));
  });
}
