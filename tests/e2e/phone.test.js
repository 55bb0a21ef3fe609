// SPDX-License-Identifier: LGPL-2.1-or-later
// The interior on a phone: a 360 px wide touch screen. The web app is
// installable (its manifest and service worker), fits the width in every
// state with touch targets of at least 44 px, offers to notify, and shows
// a system notification for a ring while the page is not in view, closed
// again when the ring ends.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, press, poll, waitHook, expectMedia, expectNoCall,
  withLogs, shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true,
  deviceScaleFactor: 2 };

// Nothing wider than the screen, and the visible buttons big enough to hit.
async function expectFits(page, what) {
  const r = await page.evaluate(() => {
    const small = [...document.querySelectorAll('button')]
      .filter((b) => b.offsetParent !== null)
      .map((b) => [b.id || b.textContent.trim(), b.getBoundingClientRect()])
      .filter(([, box]) => box.height < 44 || box.width < 44)
      .map(([name, box]) => `${name} ${Math.round(box.width)}x${Math.round(box.height)}`);
    return { width: document.documentElement.scrollWidth, small };
  });
  assert.ok(r.width <= 360, `${what}: ${r.width} px wide on a 360 px screen`);
  assert.deepEqual(r.small, [], `${what}: touch targets under 44 px`);
}

function ringNotifications(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    return (await reg.getNotifications({ tag: 'ring' })).map((n) => n.body);
  });
}

describe('the interior on a phone', { skip }, () => {
  let station, browser, alice;
  const run = (fn) => withLogs(station, () => [alice], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    browser = await launchBrowser();
    alice = await openPage(browser, station, 'alice', { contextOptions: PHONE });
  });

  after(() => shutDown(browser, station));

  test('installable: a manifest and an active service worker', () => run(async () => {
    const href = await alice.page.getAttribute('link[rel=manifest]', 'href');
    const res = await alice.context.request.get(new URL(href, station.url + '/').href);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^application\/manifest\+json/);
    const m = await res.json();
    assert.equal(m.start_url, '/');
    assert.equal(m.display, 'standalone');
    assert.ok(m.name && m.short_name);
    assert.ok(m.icons.some((i) => i.purpose === 'maskable'));
    const icon = await alice.context.request.get(new URL(m.icons[0].src, station.url + '/').href);
    assert.equal(icon.status(), 200);
    const sw = await alice.page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return { scope: reg.scope, state: reg.active && reg.active.state };
    });
    assert.equal(sw.scope, station.url + '/');
    assert.equal(sw.state, 'activated');
  }));

  test('360 px: the idle page, a ring and a call fit, with big touch targets', () => run(async () => {
    await expectFits(alice.page, 'idle');
    await waitHook(alice.page, () => window.intercom.registered === true);
    await press(alice, station, 'bell');
    await waitHook(alice.page, () => window.intercom.state === 'ringing');
    await expectFits(alice.page, 'ringing');
    await alice.page.tap('#answer');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(alice.page, { codec: 'vp8', what: 'a call on a phone' });
    await expectFits(alice.page, 'in a call');
    await alice.page.tap('#hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(alice, station);
  }));

  test('notifications: offered until decided; a ring out of view notifies, its end clears it', () => run(async () => {
    assert.equal(await alice.page.isVisible('#notify'), true, 'asked for while undecided');
    await alice.context.grantPermissions(['notifications'], { origin: station.url });
    // A fresh page of the same context (the permission is read at load).
    await alice.page.reload();
    await waitHook(alice.page, () => window.intercom.state === 'idle');
    assert.equal(await alice.page.isVisible('#notify'), false, 'not offered once granted');
    await waitHook(alice.page, () => window.intercom.registered === true);

    // In view: the page rings, no notification.
    await press(alice, station, 'bell');
    await waitHook(alice.page, () => window.intercom.state === 'ringing');
    assert.equal(await alice.page.evaluate(() => window.intercom.notifications), 0);
    await alice.page.tap('#decline');
    await waitHook(alice.page, () => window.intercom.registered === true);

    // Out of view (the phone's screen off, another app): a notification.
    await alice.page.evaluate(() => Object.defineProperty(document, 'visibilityState',
        { configurable: true, get: () => 'hidden' }));
    await press(alice, station, 'bell');
    await waitHook(alice.page, () => window.intercom.notifications === 1);
    const shown = await ringNotifications(alice.page);
    assert.deepEqual(shown, ['Test door is ringing']);
    await alice.page.tap('#decline');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await poll(() => ringNotifications(alice.page), (n) => n.length === 0,
        { what: 'the ring notification closed' });
  }));
});
