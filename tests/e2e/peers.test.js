// SPDX-License-Identifier: LGPL-2.1-or-later
// Two door stations that know each other ([peer]: one token for the pair,
// each pinning the other's certificate): A's bell rings alice at B, whose
// page answers, sees A's door and opens it; B's bell rings alice at A. A
// station that presents the wrong certificate is not called.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import {
  Station, launchBrowser, openPage, apiGet, getState, press, poll, waitHook,
  expectMedia, expectDoorHears, expectNoCall, withLogs, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;
const TOKEN = 'e2e-peer-token-0123456789abcdefghijklmnopq';

// Adds [peer NAME] for @other to @st's config and sets its ring target;
// SIGHUP (peers and ring targets reload).
async function knowEachOther(st, name, other, { ring, certificate = other.cert }) {
  const text = await readFile(st.config, 'utf8');
  await writeFile(st.config, text.replace(/^ring=.*$/m, `ring=${ring}`) + `
[peer ${name}]
host=${other.host}
token=${TOKEN}
certificate=${certificate}
`);
  const reloads = st.log.filter((l) => l.includes('reloaded')).length;
  st.proc.kill('SIGHUP');
  await poll(async () => st.log.filter((l) => l.includes('reloaded')).length,
      (n) => n > reloads, { what: `${name}: the config reloaded` });
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
    const text = await readFile(a.config, 'utf8');
    const block = `[peer b]\nhost=${b.host}\ntoken=${TOKEN}\ncertificate=${b.cert}\n`;
    assert.ok(text.includes(block));
    await writeFile(a.config, text.replace(block,
        `[peer b]\nhost=${b.host}\ntoken=${TOKEN}\ncertificate=${a.cert}\n`));
    const reloads = a.log.filter((l) => l.includes('reloaded')).length;
    a.proc.kill('SIGHUP');
    await poll(async () => a.log.filter((l) => l.includes('reloaded')).length,
        (n) => n > reloads, { what: 'A reloaded' });
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
