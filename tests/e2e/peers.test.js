// SPDX-License-Identifier: LGPL-2.1-or-later
// Two door stations that know each other ([peer]: one token for the pair,
// each pinning the other's certificate): A's bell rings alice at B, whose
// page answers, sees A's door and opens it; B's bell rings alice at A. A
// station that presents the wrong certificate is not called.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, apiGet, getState, press, poll, waitHook,
  expectMedia, expectDoorHears, expectNoCall, withLogs, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;
const TOKEN = 'e2e-peer-token-0123456789abcdefghijklmnopq';

// Adds [peer NAME] for @other to @st's config (its certificate pinned)
// and sets its ring target; SIGHUP (peers and ring targets reload).
function knowEachOther(st, name, other, { ring }) {
  return st.reconfigure((text) => text.replace(/^ring=.*$/m, `ring=${ring}`) + `
[peer ${name}]
host=${other.host}
token=${TOKEN}
certificate=${other.cert}
`);
}

describe('two stations call each other', { skip }, () => {
  let a, b, browser, atA, atB;
  const run = (fn) => withLogs(a, () => [atA, atB], async () => {
    try {
      await fn();
    } catch (e) {
      console.error('---- station B output ----\n' + (b ? b.output() : ''));
      throw e;
    }
  });

  before(async () => {
    a = await Station.start({ codec: 'vp8' });
    b = await Station.start({ codec: 'vp8' });
    await knowEachOther(a, 'b', b, { ring: b.uri('alice') });
    await knowEachOther(b, 'a', a, { ring: a.uri('alice') });
    browser = await launchBrowser();
    atA = await openPage(browser, a, 'alice');
    atB = await openPage(browser, b, 'alice');
  });

  after(async () => {
    await browser?.close();
    for (const st of [a, b]) {
      await st?.stop();
      await st?.cleanup();
    }
  });

  // @from's bell rings alice at @to (page @page); she answers, sees and
  // hears it, opens its door, hangs up.
  async function bellAcross(from, atFrom, page, to) {
    await waitHook(page.page, () => window.intercom.registered === true);
    await press(atFrom, from, 'bell');
    await waitHook(page.page, () => window.intercom.state === 'ringing', undefined, 10000);
    const invite = await page.page.evaluate(() => window.intercom.lastInvite);
    assert.equal(invite[1].caller.uri, from.doorUri);
    assert.equal(invite[1].callee.uri, to.uri('alice'));
    await page.page.click('#answer');
    await waitHook(page.page, () => window.intercom.state === 'connected', undefined, 20000);
    await expectMedia(page.page, { codec: 'vp8', what: `${from.doorUri} at ${to.host}` });
    const st = await expectDoorHears(atFrom, from);
    assert.equal(st.calls[0].peers[0].uri, to.uri('alice'));
    await page.page.click('#open-door');
    await poll(() => getState(atFrom, from), (s) => s.relays.door === true,
        { timeout: 5000, interval: 50, what: 'the calling door opens' });
    await page.page.click('#hangup');
    await waitHook(page.page, () => window.intercom.state === 'ended');
    await expectNoCall(atFrom, from);
  }

  test("A's bell rings alice at B", () => run(() => bellAcross(a, atA, atB, b)));

  test("B's bell rings alice at A", () => run(() => bellAcross(b, atB, atA, a)));

  test('a pinned certificate that does not match: the ring fails, clearly', () => run(async () => {
    // A pins its own certificate for B now: B's does not match it.
    const block = `[peer b]\nhost=${b.host}\ntoken=${TOKEN}\ncertificate=${b.cert}\n`;
    await a.reconfigure((text) => {
      assert.ok(text.includes(block));
      return text.replace(block,
          `[peer b]\nhost=${b.host}\ntoken=${TOKEN}\ncertificate=${a.cert}\n`);
    });
    const before = (await apiGet(atA, a, 'history')).calls.length;
    const logBefore = a.log.length;
    await waitHook(atB.page, () => window.intercom.registered === true);
    await press(atA, a, 'bell');
    const h = await poll(() => apiGet(atA, a, 'history'), (x) => x.calls.length === before + 1,
        { what: 'the failed ring in the history' });
    assert.equal(h.calls[0].answered, false);
    assert.notEqual(await atB.page.evaluate(() => window.intercom.state), 'ringing',
        "B's page was not rung");
    assert.match(a.log.slice(logBefore).join('\n'), /ended: \d+ .*(certificate|TLS)/i,
        'the log says why');
  }));
});
