// SPDX-License-Identifier: LGPL-2.1-or-later
// Mode 2: the interior page calls the door, which answers by itself.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, apiPost, getState,
  waitHook, expectMedia, expectDoorHears, expectInputSeen, expectDoorOpens,
  expectNoCall, withLogs,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

describe('mode 2: the interior calls the door', { skip }, () => {
  let station, browser, alice;
  const run = (fn) => withLogs(station, () => [alice], fn);

  before(async () => {
    // The door's default: echo cancellation and noise suppression on.
    station = await Station.start({ codec: 'vp8', echoCancel: true });
    browser = await launchBrowser();
    alice = await openPage(browser, station, 'alice');
  });

  after(() => shutDown(browser, station));

  test('#call-door: the door answers; media both ways', () => run(async () => {
    await alice.page.click('#call-door');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(alice.page, { codec: 'vp8', what: 'mode 2' });
    await waitHook(alice.page, () => window.intercom.handedOver === true);
    const st = await expectDoorHears(alice, station);
    assert.equal(st.calls[0].mode, 'door');
    assert.equal(st.calls[0].state, 'connected');
    assert.equal(st.calls[0].codec, 'vp8');
    assert.equal(st.calls[0].peers[0].uri, station.uri('alice'));
    assert.equal(st.calls[0].peers[0].role, 'main');
  }));

  test('io: the door created the io channel; input and relay', () => run(async () => {
    await waitHook(alice.page, () => window.intercom.io.some((m) => m[0] === 'state'));
    await expectInputSeen(alice, station);
    await expectDoorOpens(alice, station);
  }));

  test('the door hangs up: the page gets bye 200', () => run(async () => {
    await apiPost(alice, station, 'calls/hangup');
    await waitHook(alice.page, () => window.intercom.lastBye && window.intercom.lastBye.code === 200);
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(alice, station);
  }));

  test('a second call, hung up from the page', () => run(async () => {
    await alice.page.click('#call-door');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(alice.page, { codec: 'vp8', what: 'second mode 2 call' });
    await alice.page.click('#hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(alice, station);
    const st = await getState(alice, station);
    assert.equal(st.relays.door, false);
  }));
});
