// SPDX-License-Identifier: LGPL-2.1-or-later
// A second interior station joins a running call as a viewer: the same
// encoders feed both peers (one pipeline, one encode); it sees the door,
// may open it, and the call ends for it when the main peer hangs up. A
// bell press during the call rings a page that is not in it, which joins.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, press, getState,
  waitHook, expectMedia, expectDoorOpens, expectNoCall, withLogs, stats, poll,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

describe('a viewer joins a bell call', { skip }, () => {
  let station, browser, main, viewer, third;
  const run = (fn) => withLogs(station, () => [main, viewer, third], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    browser = await launchBrowser();
    main = await openPage(browser, station, 'alice');
    viewer = await openPage(browser, station, 'alice');
  });

  after(() => shutDown(browser, station));

  test('the bell call is answered by one page, the other calls the door and views', () => run(async () => {
    await waitHook(main.page, () => window.intercom.registered === true);
    await waitHook(viewer.page, () => window.intercom.registered === true);
    await press(main, station, 'bell');
    await waitHook(main.page, () => window.intercom.state === 'ringing');
    await waitHook(viewer.page, () => window.intercom.state === 'ringing');
    await main.page.click('#answer');
    await waitHook(main.page, () => window.intercom.state === 'connected', undefined, 20000);
    await waitHook(viewer.page, () => window.intercom.lastBye?.code === 487);
    await expectMedia(main.page, { codec: 'vp8', what: 'main peer' });

    await viewer.page.click('#call-door');
    await waitHook(viewer.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(viewer.page, { codec: 'vp8', what: 'viewer' });
    // still one call, with both peers on it
    const st = await getState(main, station);
    assert.equal(st.calls.length, 1);
    assert.equal(st.calls[0].mode, 'bell');
    assert.deepEqual(st.calls[0].peers.map((p) => [p.uri, p.role, p.state]), [
      [station.uri('alice'), 'main', 'connected'],
      [station.uri('alice'), 'viewer', 'connected'],
    ]);
    // the main peer keeps its picture
    const before = await stats(main.page);
    await poll(() => stats(main.page), (s) => s.framesDecoded > before.framesDecoded + 15,
        { what: 'the main peer still decodes frames with a viewer on' });
  }));

  test('the viewer may open the door; the door relay takes only pulses', () => run(async () => {
    await waitHook(viewer.page, () => window.intercom.io.some((m) => m[0] === 'state'));
    await expectDoorOpens(viewer, station);
    assert.equal(await viewer.page.evaluate(() =>
      window.intercom.sendIo(['relay', { name: 'door', action: 'on' }])), true);
    await waitHook(viewer.page, () => window.intercom.io.some((m) => m[0] === 'error'
        && m[1].code === 403));
    await waitHook(viewer.page, () => window.intercom.sendIo(['relay', { name: 'garage', action: 'pulse' }]));
    await waitHook(viewer.page, () => window.intercom.io.some((m) => m[0] === 'error'
        && m[1].code === 404));
    assert.equal((await getState(viewer, station)).relays.door, false);
  }));

  test('a bell press during the call rings a page that is not in it; it joins as a viewer', () => run(async () => {
    const id = (await getState(main, station)).calls[0].id;
    third = await openPage(browser, station, 'alice');
    await waitHook(third.page, () => window.intercom.registered === true);
    await press(main, station, 'bell');
    // The peers in the call see the press; the page that is not rings,
    // with a snapshot.
    await waitHook(main.page, () => window.intercom.io.some((m) => m[0] === 'input'
        && m[1].name === 'bell' && m[1].active === true));
    await waitHook(third.page, () => window.intercom.state === 'ringing');
    const invite = await third.page.evaluate(() => window.intercom.lastInvite);
    assert.equal(invite[1].caller.uri, station.doorUri);
    assert.match(invite[2]?.snapshot ?? '', /^data:image\/jpeg;base64,/);
    let st = await getState(main, station);
    assert.equal(st.calls.length, 1, 'no second call');
    assert.equal(st.calls[0].id, id);
    assert.equal(await viewer.page.evaluate(() => window.intercom.state), 'connected');

    await third.page.click('#answer');
    await waitHook(third.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(third.page, { codec: 'vp8', what: 'the page that answered the second bell' });
    st = await getState(main, station);
    assert.equal(st.calls[0].id, id, 'it joined the same call');
    assert.deepEqual(st.calls[0].peers.map((p) => [p.role, p.state]), [
      ['main', 'connected'], ['viewer', 'connected'], ['viewer', 'connected'],
    ]);
    // It leaves; the call goes on.
    await third.page.click('#hangup');
    await waitHook(third.page, () => window.intercom.state === 'ended');
    st = await poll(() => getState(main, station), (x) => x.calls[0]?.peers.length === 2,
        { what: 'the joined page gone from the call' });
    assert.equal(st.calls[0].id, id);
    assert.equal(await main.page.evaluate(() => window.intercom.state), 'connected');
  }));

  test('the main peer hangs up: the call ends for the viewer too', () => run(async () => {
    await main.page.click('#hangup');
    await waitHook(viewer.page, () => window.intercom.state === 'ended', undefined, 20000);
    await expectNoCall(main, station);
    const history = await (await main.context.request.get(station.url + '/api/v1/history')).json();
    assert.equal(history.calls[0].answered, true);
    assert.equal(history.calls[0].mode, 'bell');
  }));
});
