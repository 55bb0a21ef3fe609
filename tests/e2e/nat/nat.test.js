// SPDX-License-Identifier: LGPL-2.1-or-later
// The interior anywhere (nat/run builds the networks): the door behind its
// home router registers at a home server on the "Internet"; the interior's
// Chromium, behind another router, logs in there and calls the door, or is
// rung by its bell. Through coturn with relay-only ICE, directly with
// STUN where the NATs allow it, a clear failure without TURN behind
// symmetric NATs, TURN again behind them; the door's uplink down for 10 s;
// the home server restarted. Each call: video decoded, audio both ways
// where it is checked, a door pulse moving the door relay.
// OI_NAT_TRIES=N repeats the timed calls (bench/nat: first frame and ICE
// connected, through the relay and direct).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  Station, doorGroup, homeServerGroup, launchBrowser, openPage, apiGet, getState, press, poll, sleep,
  waitHook, expectMedia, expectDoorHears, expectNoCall, withLogs,
} from '../station.js';

const execFileP = promisify(execFile);
const env = process.env;
const skip = !env.OI_NAT_HOME && 'not in the networks of nat/run';
const TRIES = Number(env.OI_NAT_TRIES || 1);
const TOKEN = 'nat-door-token-0123456789abcdefghijklmnopq';
const REGISTERED = 'registered at home server';
const STUN = 'stun:198.51.100.1:3478';
const TURN = 'turn:198.51.100.1:3478?transport=udp';
const TURN_TCP = 'turn:198.51.100.1:3478?transport=tcp';
const TURNS = 'turns:198.51.100.1:5349';

function ice({ stun = false, turn = false, relay = false, tcp = false, tls = false } = {}) {
  return [
    '# ice-begin',
    `stun=${stun ? STUN : ''}`,
    `turn=${turn ? (tls ? TURNS : tcp ? TURN_TCP : TURN) : ''}`,
    turn ? `turn-secret=${env.OI_NAT_TURN_SECRET}` : '',
    `relay-only=${relay}`,
    '# ice-end',
  ].join('\n');
}

// Both routers' NAT: 'cone' (ports kept where they can be) or 'symmetric'
// (a random port for every new destination).
async function natMode(mode) {
  for (const ns of [env.OI_NAT_HOMEGW, env.OI_NAT_AWAYGW]) {
    await execFileP('ip', ['netns', 'exec', ns, 'nft', 'flush', 'chain', 'ip', 'nat', 'post']);
    await execFileP('ip', ['netns', 'exec', ns, 'nft', 'add', 'rule', 'ip', 'nat', 'post',
      'oifname', 'wan0', 'masquerade', ...(mode === 'symmetric' ? ['fully-random'] : [])]);
  }
}

// The selected candidate pair of the page's current (or last) call.
function pairOf(page) {
  return page.evaluate(async () => {
    const pc = window.intercom.lastPc;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId)
        pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair)
      return null;
    const local = stats.get(pair.localCandidateId);
    return { local: local.candidateType, relayProtocol: local.relayProtocol,
      remote: stats.get(pair.remoteCandidateId).candidateType };
  });
}

// From now (the call's start) to ICE connected and to the first decoded
// frame, in the page's own clock.
async function startTiming(page) {
  await page.evaluate(() => {
    const t = { t0: performance.now(), ice: null, frame: null };
    window.natTiming = t;
    const iv = setInterval(async () => {
      const pc = window.intercom.pc;
      if (!pc)
        return;
      if (t.ice === null && pc.connectionState === 'connected')
        t.ice = performance.now() - t.t0;
      if (t.frame === null && (await window.intercom.stats()).framesDecoded > 0)
        t.frame = performance.now() - t.t0;
      if (t.ice !== null && t.frame !== null)
        clearInterval(iv);
    }, 5);
  });
}

function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)];
}

describe('the interior anywhere: across NATs through a home server', { skip }, () => {
  let hs, door, homeBrowser, awayBrowser, alice, atDoor;
  const timings = { relay: [], direct: [] };
  const run = (fn) => withLogs(door, () => [alice], async () => {
    try {
      await fn();
    } catch (e) {
      console.error('---- home server output ----\n' + (hs ? hs.output() : ''));
      throw e;
    }
  });

  // New [ice] for both stations (SIGHUP: the next call uses it; the
  // browser asks its station for it at each call).
  async function reconfigure(settings) {
    for (const st of [hs, door])
      await st.reconfigure((text) => text.replace(/# ice-begin[\s\S]*# ice-end/, ice(settings)));
  }

  async function doorRegistered(timeout = 15000) {
    await poll(() => getState(alice, hs), (s) => s.doors[0].registered,
        { timeout, interval: 50, what: 'the door registered at the home server' });
    await waitHook(alice.page, () => window.intercom.doors.length === 1
        && window.intercom.doors[0].registered, undefined, 10000);
  }

  // Mode 2 from the page in `away`, through the home server; returns the
  // selected pair.
  async function callTheDoor(what, { timed = null, pulse = false, audio = false } = {}) {
    await doorRegistered();
    await startTiming(alice.page);
    await alice.page.click('#doors button');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 30000);
    await expectMedia(alice.page, { codec: 'vp8', what });
    if (audio)
      await expectDoorHears(atDoor, door);
    const pair = await pairOf(alice.page);
    if (timed) {
      const t = await alice.page.evaluate(() => window.natTiming);
      timed.push(t);
      console.log(`nat: ${what}: ICE connected ${t.ice.toFixed(0)} ms, first frame ` +
          `${t.frame.toFixed(0)} ms after the call started (${pair.local} <-> ${pair.remote})`);
    }
    await endCall(what, { pulse });
    return pair;
  }

  // The page opens the door (a pulse: on, then off by itself), then hangs
  // up; the door is idle again.
  async function endCall(what, { pulse = true } = {}) {
    if (pulse) {
      await alice.page.click('#open-door');
      await poll(() => getState(atDoor, door), (s) => s.relays.door === true,
          { timeout: 5000, interval: 50, what: `${what}: the door relay on` });
      await poll(() => getState(atDoor, door), (s) => s.relays.door === false,
          { timeout: 10000, what: `${what}: the door relay off by itself` });
    }
    await alice.page.click('#hangup');
    await waitHook(alice.page, () => window.intercom.state === 'ended');
    await expectNoCall(atDoor, door);
  }

  // Mode 1: the door's bell rings the page in `away` through the home
  // server; it answers. Returns the selected pair.
  async function bellCall(what) {
    await doorRegistered();
    await waitHook(alice.page, () => window.intercom.registered === true);
    await press(atDoor, door, 'bell');
    await waitHook(alice.page, () => window.intercom.state === 'ringing', undefined, 10000);
    await alice.page.click('#answer');
    await waitHook(alice.page, () => window.intercom.state === 'connected', undefined, 30000);
    await expectMedia(alice.page, { codec: 'vp8', what });
    await expectDoorHears(atDoor, door);
    const pair = await pairOf(alice.page);
    await endCall(what);
    return pair;
  }

  before(async () => {
    await natMode('cone');
    const settings = ice({ turn: true, relay: true });
    hs = await Station.start({ role: 'home-server', address: '198.51.100.1',
      allowNetworks: '0.0.0.0/0', ice: settings,
      prefix: ['ip', 'netns', 'exec', env.OI_NAT_PUB], extra: doorGroup(TOKEN) });
    door = await Station.start({ codec: 'vp8', address: '192.0.2.2',
      ring: hs.uri('alice'), allowCallers: null, ice: settings,
      extra: homeServerGroup(hs, TOKEN) });
    homeBrowser = await launchBrowser();
    awayBrowser = await launchBrowser({ executablePath: env.OI_NAT_CHROMIUM,
      env: { OI_CHROMIUM_NS: env.OI_NAT_AWAY } });
    alice = await openPage(awayBrowser, hs, 'alice');
    atDoor = await openPage(homeBrowser, door, 'alice');
  });

  after(async () => {
    await awayBrowser?.close();
    await homeBrowser?.close();
    for (const st of [door, hs]) {
      await st?.stop();
      await st?.cleanup();
    }
    const summary = (name, list) => {
      if (list.length === 0)
        return;
      const ice = list.map((t) => t.ice), frame = list.map((t) => t.frame);
      console.log(`nat: ${name}, n=${list.length}: ICE connected p50 ${percentile(ice, 50).toFixed(0)} ` +
          `p95 ${percentile(ice, 95).toFixed(0)} ms; first frame p50 ${percentile(frame, 50).toFixed(0)} ` +
          `p95 ${percentile(frame, 95).toFixed(0)} ms`);
    };
    summary('through the TURN relay (cone NATs, relay-only)', timings.relay);
    summary('direct (cone NATs, STUN)', timings.direct);
  });

  test('relay-only, cone NATs: the page calls the door through the home server and coturn', () => run(async () => {
    for (let i = 0; i < TRIES; i++) {
      const pair = await callTheDoor(`relay call ${i + 1}`, { timed: timings.relay,
        pulse: i === 0, audio: i === 0 });
      assert.equal(pair.local, 'relay', 'the page sends through the relay');
    }
  }));

  test('relay-only, cone NATs: the bell rings the page, which answers through the relay', () => run(async () => {
    const pair = await bellCall('mode 1 through the relay');
    assert.equal(pair.local, 'relay');
  }));

  test('relay-only over TCP to the TURN server (a network that lets no UDP out)', () => run(async () => {
    await reconfigure({ turn: true, relay: true, tcp: true });
    const pair = await callTheDoor('relay over TCP', { pulse: true, audio: true });
    assert.equal(pair.local, 'relay');
    assert.equal(pair.relayProtocol, 'tcp');
    assert.equal(pair.remote, 'relay', 'the door relays too (relay-only)');
  }));

  test('relay-only over TLS to the TURN server (turns:)', () => run(async () => {
    await reconfigure({ turn: true, relay: true, tls: true });
    const pair = await callTheDoor('relay over TLS', { pulse: true, audio: true });
    assert.equal(pair.local, 'relay');
    assert.equal(pair.relayProtocol, 'tls');
    assert.equal(pair.remote, 'relay', 'the door relays too (relay-only)');
  }));

  test('STUN only, cone NATs: a direct call (no relay)', () => run(async () => {
    await reconfigure({ stun: true });
    for (let i = 0; i < TRIES; i++) {
      const pair = await callTheDoor(`direct call ${i + 1}`, { timed: timings.direct,
        pulse: i === 0, audio: i === 0 });
      assert.notEqual(pair.local, 'relay');
      assert.notEqual(pair.remote, 'relay');
    }
    const pair = await bellCall('mode 1, direct');
    assert.notEqual(pair.local, 'relay');
    assert.notEqual(pair.remote, 'relay');
  }));

  test('STUN only, symmetric NATs: the call fails with a clear message, not a hang', () => run(async () => {
    await natMode('symmetric');
    await doorRegistered();
    const logBefore = door.log.length;
    const n = await alice.page.evaluate(() => window.intercom.states.length);
    await alice.page.click('#doors button');
    await waitHook(alice.page, () => window.intercom.state === 'ended', undefined, 60000);
    const states = await alice.page.evaluate((k) => window.intercom.states.slice(k), n);
    assert.ok(!states.includes('connected'), `never connected: ${states}`);
    assert.match(await alice.page.textContent('#message'), /No connection to the door: no network path/);
    await poll(async () => door.log.slice(logBefore).join('\n'), (l) => /ended: 408 .*ICE/.test(l),
        { timeout: 60000, what: 'the door logs the call ended by ICE' });
    await expectNoCall(atDoor, door);
  }));

  test('TURN, symmetric NATs: the call goes through the relay', () => run(async () => {
    await reconfigure({ stun: true, turn: true });
    const pair = await callTheDoor('symmetric NATs with TURN', { pulse: true, audio: true });
    assert.ok(pair.local === 'relay' || pair.remote === 'relay', `a relay: ${JSON.stringify(pair)}`);
    await natMode('cone');
  }));

  test("the door's uplink down for 10 s: the bell still pulses its relay, then the door is back within 5 s", () => run(async () => {
    await reconfigure({ turn: true, relay: true });
    await doorRegistered();
    const registrations = () => door.count(REGISTERED);
    const before = registrations();
    // (the last bell pulse over first: a press while the relay is on
    // extends the pulse, with no edge to count)
    const relays = await poll(() => apiGet(atDoor, door, 'sim/relays'),
        (r) => !r.bell.active, { what: 'the bell relay off' });
    const history = (await apiGet(atDoor, door, 'history')).calls.length;
    await execFileP('ip', ['-n', env.OI_NAT_HOMEGW, 'link', 'set', 'wan0', 'down']);
    const down = Date.now();
    await press(atDoor, door, 'bell');
    await poll(() => apiGet(atDoor, door, 'sim/relays'),
        (r) => r.bell.changes >= relays.bell.changes + 2,
        { what: 'the bell relay pulsed during the outage' });
    const failed = await poll(() => apiGet(atDoor, door, 'history'),
        (h) => h.calls.length === history + 1, { what: 'the failed ring in the history' });
    assert.equal(failed.calls[0].answered, false);
    // The outage lasts its 10 s (the scenario; nothing is waited for).
    await sleep(Math.max(0, 10000 - (Date.now() - down)));
    await execFileP('ip', ['-n', env.OI_NAT_HOMEGW, 'link', 'set', 'wan0', 'up']);
    await execFileP('ip', ['-n', env.OI_NAT_HOMEGW, 'route', 'replace', 'default', 'via', '198.51.100.1']);
    const up = Date.now();
    // The door gave its socket up during the outage (no pong for 6-9 s)
    // and registers again once the network is back; then a call reaches it.
    await poll(async () => registrations(), (k) => k > before,
        { timeout: 5000, interval: 20, what: 'the door registered again within 5 s of its uplink' });
    console.log(`nat: uplink back: the door registered again ${Date.now() - up} ms later`);
    await callTheDoor('after the outage', { pulse: true });
  }));

  test('the home server restarts: the door and the page register again by themselves', () => run(async () => {
    await hs.stop();
    await poll(async () => door.output(), (o) => o.includes('lost the registration'),
        { what: 'the door notices' });
    const before = door.count(REGISTERED);
    await hs.spawn();
    const ready = Date.now();
    await poll(async () => door.count(REGISTERED),
        (n) => n > before, { timeout: 5000, interval: 20, what: 'the door registered again' });
    console.log(`nat: home server restart: the door registered again ${Date.now() - ready} ms after "ready"`);
    await waitHook(alice.page, () => window.intercom.registered === true, undefined, 10000);
    console.log(`nat: home server restart: the page registered again ${Date.now() - ready} ms after "ready"`);
    await callTheDoor('after the restart');
  }));
});
