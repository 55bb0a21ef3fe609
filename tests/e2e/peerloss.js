// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A peer that vanishes from a call (docs/wsp.md, "A peer that vanishes"):
// the scenarios shared by peerloss.test.js (closed and killed browsers) and
// netns/netcut.test.js (a cut network). Each loses a page in a call —
// the main peer of a bell call, of a call to the door, or a viewer — and
// measures how long the door takes to notice, from the API: the call gone
// (main peer) or the viewer dropped with the call going on.
//
// OI_PEERLOSS_TRIES=N repeats each case (bench/peer-loss: p50 and max).

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import {
  CHROMIUM, CHROMIUM_ARGS, openPage, press, getState, apiGet, waitHook, expectMedia,
  expectNoCall, poll,
} from './station.js';

const TRIES = Math.max(1, Number(process.env.OI_PEERLOSS_TRIES) || 1);
// The bound: the door notices within 10 s, whichever way it went.
const DETECT_MAX_MS = 10000;

// The ways a browser goes, each given the victim ({ server, browser, ctx }:
// a Playwright browser server, so that its process is ours to end).
export const LOSSES = {
  // A normal shutdown of the browser.
  close: async (victim) => { await victim.server.close(); },
  // The process killed: nothing more leaves it.
  kill: async (victim) => { victim.server.process().kill('SIGKILL'); },
};

// Brings up a call with `victim` (a page of its own browser) in `role`:
// 'bell' (it answers the bell: main peer), 'door' (it calls the door: main
// peer), 'viewer' (it joins `main`'s call to the door). `observer`: a
// page that stays, for the API.
async function callWith(station, role, victim, main, observer) {
  if (role === 'bell') {
    await waitHook(victim.page, () => window.intercom.registered === true);
    await press(victim, station, 'bell');
    await waitHook(victim.page, () => window.intercom.state === 'ringing');
    await victim.page.click('#answer');
  } else {
    if (role === 'viewer') {
      await main.page.click('#call-door');
      await waitHook(main.page, () => window.intercom.state === 'connected', undefined, 20000);
    }
    await victim.page.click('#call-door');
  }
  await waitHook(victim.page, () => window.intercom.state === 'connected', undefined, 20000);
  await waitHook(victim.page, () => window.intercom.handedOver === true);
  await expectMedia(victim.page, { what: `${role} call` });
  const st = await getState(observer, station);
  assert.equal(st.calls.length, 1);
  assert.deepEqual(st.calls[0].peers.map((p) => [p.role, p.state]),
      role === 'viewer' ? [['main', 'connected'], ['viewer', 'connected']]
        : [['main', 'connected']], JSON.stringify(st.calls[0]));
  return st.calls[0];
}

// One try: `lose(victimBrowser, victimPage)` in a call of `role`; returns
// the detection time in ms. `openVictim()` gives a fresh logged-in page in
// a browser of its own ({ browser, ctx }); `observer` (a user the bell
// does not ring) stays, for the API; `openMain()` gives the main peer of a
// viewer case (an alice page in a browser that stays).
async function loseOnce(station, { role, lose, openVictim, openMain, observer, label }) {
  // Each try starts at an idle door: what a failed try left (a call whose
  // page is gone ends by itself within the peer timeout) must not make the
  // next one fail too, so that a failure shows where it began.
  await expectNoCall(observer, station, `${label}: no call left from before`);
  const lost = await openVictim();
  let main = null;
  try {
    if (role === 'viewer')
      main = await openMain();
    return await measureLoss(station, { role, lose, lost, main, observer, label });
  } finally {
    // Whatever happened: no browser of ours outlives the try.
    await lost.server.close();
    await main?.context.close();
  }
}

async function measureLoss(station, { role, lose, lost, main, observer, label }) {
  const call = await callWith(station, role, lost.ctx, main, observer);
  const logBefore = station.log.length;

  const t0 = Date.now();
  await lose(lost);
  let detected;
  if (role === 'viewer') {
    const st = await poll(() => getState(observer, station),
        (s) => s.calls.length === 1 && s.calls[0].peers.length === 1,
        { timeout: 20000, interval: 50, what: 'the viewer dropped' });
    detected = Date.now() - t0;
    assert.equal(st.calls[0].id, call.id, 'the same call goes on');
    assert.equal(st.calls[0].peers[0].role, 'main');
    // The main peer keeps its picture.
    const s0 = await main.page.evaluate(() => window.intercom.stats());
    await poll(() => main.page.evaluate(() => window.intercom.stats()),
        (s) => s.framesDecoded > s0.framesDecoded + 15,
        { what: 'the main peer still decodes frames' });
    assert.equal(await main.page.evaluate(() => window.intercom.state), 'connected');
  } else {
    await poll(() => getState(observer, station), (s) => s.calls.length === 0,
        { timeout: 20000, interval: 50, what: `${label}: the call ends at the door` });
    detected = Date.now() - t0;
    const h = await apiGet(observer, station, 'history');
    assert.equal(h.calls[0].id, call.id, 'the history has the call');
    assert.equal(h.calls[0].lost, true, JSON.stringify(h.calls[0]));
    assert.equal(h.calls[0].end, 408, JSON.stringify(h.calls[0]));
    assert.equal(h.calls[0].answered, true);
  }
  // The log says so, and the audit has it.
  await poll(async () => station.log.slice(logBefore).join('\n'),
      (text) => /event=peer-lost/.test(text) && /ended: 408 the peer vanished/.test(text),
      { timeout: 5000, what: 'the peer-lost log and audit lines' });
  assert.ok(detected < DETECT_MAX_MS, `${label}: noticed after ${detected} ms`);
  console.log(`peer-loss: ${label}: noticed after ${detected} ms`);
  if (role === 'viewer') {
    await main.page.click('#hangup');
    await waitHook(main.page, () => window.intercom.state === 'ended');
    await expectNoCall(observer, station);
  }
  return detected;
}

// After a loss the bell rings a page (`ctx`, registered and idle, the only
// one of the ring target): it is not swallowed by what is left of the lost
// call. The page declines.
async function expectBellRings(station, ctx, observer) {
  await waitHook(ctx.page, () => window.intercom.registered === true);
  await press(observer, station, 'bell');
  await waitHook(ctx.page, () => window.intercom.state === 'ringing');
  const invite = await ctx.page.evaluate(() => window.intercom.lastInvite);
  assert.equal(invite[1].caller.uri, station.doorUri);
  await ctx.page.click('#decline');
  await expectNoCall(observer, station, 'the declined call is over');
  await waitHook(ctx.page, () => window.intercom.state !== 'ringing');
}

// A fresh page in a browser of its own (`executablePath`: e.g. a wrapper
// that runs Chromium in a test network namespace).
function victimOpener(station, executablePath = CHROMIUM) {
  return async () => {
    const server = await chromium.launchServer({ executablePath, headless: true,
      args: CHROMIUM_ARGS });
    const browser = await chromium.connect(server.wsEndpoint());
    const ctx = await openPage(browser, station, 'alice');
    return { server, browser, ctx };
  };
}

// One case, TRIES times: a loss (`lose`, then `restore`, if any, whatever
// happened), and after a main peer's loss the bell rings a page opened
// after it (in `home`, the browser that stays). `shown.fresh`: that page,
// for the logs of a failure. Prints the summary.
export async function runCase(station, { role, lose, restore, label, observer, home,
  executablePath = CHROMIUM, shown = {} }) {
  const times = [];
  for (let i = 0; i < TRIES; i++) {
    try {
      times.push(await loseOnce(station, { role, lose, observer, label,
        openVictim: victimOpener(station, executablePath),
        openMain: () => openPage(home, station, 'alice') }));
    } finally {
      await restore?.();
    }
    if (role !== 'viewer') {
      shown.fresh = await openPage(home, station, 'alice');
      await expectBellRings(station, shown.fresh, observer);
      await shown.fresh.context.close();
      shown.fresh = null;
    }
  }
  summary(label, times);
}

function summary(label, times) {
  const sorted = [...times].sort((a, b) => a - b);
  const p50 = sorted[Math.floor((sorted.length - 1) / 2)];
  console.log(`peer-loss summary: ${label}: n=${sorted.length} p50=${p50} ms max=${sorted[sorted.length - 1]} ms`);
}
