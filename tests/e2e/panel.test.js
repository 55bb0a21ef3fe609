// SPDX-License-Identifier: LGPL-2.1-or-later
// The virtual door panel (panel.html) drives the simulated GPIO chip.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, getState,
  waitHook, expectNoCall, withLogs, poll,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

describe('the virtual door panel', { skip }, () => {
  let station, browser, alice, panel;
  const run = (fn) => withLogs(station, () => [alice, panel], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    browser = await launchBrowser();
    alice = await openPage(browser, station, 'alice');
    const page = await alice.context.newPage();
    panel = { page, context: alice.context, log: [], user: 'panel' };
    page.on('console', (m) => panel.log.push(`[panel console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => panel.log.push(`[panel pageerror] ${e.stack || e}`));
  });

  after(() => shutDown(browser, station));

  const hold = async (id) => {
    const box = await panel.page.locator(id).boundingBox();
    await panel.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await panel.page.mouse.down();
  };

  test('the panel is linked from the app and shows the inputs', () => run(async () => {
    assert.equal(await alice.page.getAttribute('#panel-link', 'href'), 'panel.html');
    await panel.page.goto(station.url + '/panel.html');
    for (const name of ['bell', 'in1', 'in2'])
      await panel.page.waitForSelector(`#panel-input-${name}`, { state: 'visible' });
    await panel.page.waitForSelector('#panel-relay-door', { state: 'attached' });
  }));

  test('holding in1 keeps it active until released', () => run(async () => {
    await waitHook(alice.page, () => window.intercom.registered === true);
    await hold('#panel-input-in1');
    await poll(() => getState(alice, station), (s) => s.inputs.in1 === true,
        { what: 'in1 active while held' });
    await panel.page.mouse.up();
    await poll(() => getState(alice, station), (s) => s.inputs.in1 === false,
        { what: 'in1 inactive after release' });
    assert.equal(await alice.page.evaluate(() => window.intercom.state), 'idle',
        'in1 does not ring');
  }));

  test('the bell button rings the page and pulses the bell relay lamp', () => run(async () => {
    await hold('#panel-input-bell');
    // The bell relay pulses (1 s) with the press; the panel polls every 500 ms.
    await panel.page.waitForSelector('#panel-relay-bell.on', { timeout: 5000 });
    await waitHook(alice.page, () => window.intercom.state === 'ringing');
    await panel.page.mouse.up();
    await poll(() => getState(alice, station), (s) => s.inputs.bell === false,
        { what: 'bell released' });
    await panel.page.waitForSelector('#panel-relay-bell:not(.on)', { timeout: 10000 });
  }));

  test('"hang up at the door" ends the call', () => run(async () => {
    await panel.page.click('#panel-hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    assert.ok(await alice.page.evaluate(() => window.intercom.lastBye !== null));
    await expectNoCall(alice, station);
    await panel.page.waitForSelector('#panel-hangup:disabled');
  }));
});
