// SPDX-License-Identifier: LGPL-2.1-or-later
// A ring group: two pages of the same user ring; the first to answer wins.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, press, apiGet, poll,
  waitHook, expectMedia, expectNoCall, withLogs,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

describe('ring group: two pages of alice', { skip }, () => {
  let station, browser, a, b;
  const run = (fn) => withLogs(station, () => [a, b], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    browser = await launchBrowser();
    a = await openPage(browser, station, 'alice');
    b = await openPage(browser, station, 'alice');
    b.user = 'alice (B)';
  });

  after(() => shutDown(browser, station));

  const bothRegistered = async () => {
    await waitHook(a.page, () => window.intercom.registered === true);
    await waitHook(b.page, () => window.intercom.registered === true);
  };

  test('both ring; A answers; B gets bye 487 and never connects', () => run(async () => {
    await bothRegistered();
    await press(a, station, 'bell');
    await waitHook(a.page, () => window.intercom.state === 'ringing');
    await waitHook(b.page, () => window.intercom.state === 'ringing');
    await a.page.click('#answer');
    await waitHook(b.page, () => window.intercom.lastBye && window.intercom.lastBye.code === 487);
    await waitHook(b.page, () => window.intercom.state === 'ended');
    assert.equal(await b.page.isVisible('#ring'), false, 'B stopped ringing');
    await waitHook(a.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(a.page, { codec: 'vp8', what: 'A' });
    const bState = await b.page.evaluate(() => ({
      states: window.intercom.states, lastPc: window.intercom.lastPc !== null,
    }));
    assert.ok(!bState.states.includes('connected'), 'B never connected: ' + bState.states);
    assert.equal(bState.lastPc, false, 'B never made a peer connection');
    await a.page.click('#hangup');
    await expectNoCall(a, station);
  }));

  test('both decline: the call ends unanswered (603)', () => run(async () => {
    await bothRegistered();
    await press(a, station, 'bell');
    await waitHook(a.page, () => window.intercom.state === 'ringing');
    await waitHook(b.page, () => window.intercom.state === 'ringing');
    await b.page.click('#decline');
    await waitHook(b.page, () => window.intercom.state === 'ended');
    // A keeps ringing after B declined.
    const st = await apiGet(a, station, 'state');
    assert.equal(st.calls.length, 1, 'the call goes on');
    assert.equal(await a.page.evaluate(() => window.intercom.state), 'ringing');
    await a.page.click('#decline');
    await waitHook(a.page, () => window.intercom.state === 'ended');
    await expectNoCall(a, station, 'the call ended after both declined');
    const h = await poll(() => apiGet(a, station, 'history'),
        (x) => x.calls.length >= 2, { what: 'two history entries' });
    assert.equal(h.calls[0].answered, false);
    assert.equal(h.calls[0].end, 603);
    await bothRegistered();
  }));
});
