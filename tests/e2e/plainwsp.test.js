// SPDX-License-Identifier: LGPL-2.1-or-later
// A plain WSP 1.0 peer (no register, no io channel, no options) calls the
// door from a logged-in page with its own socket and RTCPeerConnection.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Station, launchBrowser, openPage, getState,
  expectNoCall, withLogs, poll,
  shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';

const skip = SKIP_WITHOUT_CHROMIUM;

// Self-contained: runs in the page, knows WSP 1.0 and nothing else.
// `stayMs`: how long to stay in the call once media flows, checking every
// second that the door keeps it and the picture keeps coming.
async function plainWspCall({ callerUri, doorUri, stayMs = 0 }) {
  const log = [];
  const result = { log, framesDecoded: 0, totalAudioEnergy: 0, frameWidth: 0,
    codec: null, handedOver: false, byeReceived: null, channels: [] };
  let handedOver = false;
  let wspChannel = null;
  let pc = null;
  const pending = [];
  const ws = new WebSocket('wss://' + location.host + '/wsp', 'wsp-1.0');
  const send = (msg) => {
    const text = JSON.stringify(msg);
    if (handedOver)
      wspChannel.send(text);
    else
      ws.send(text);
  };
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  failed.catch(() => {});

  const onSignal = async (msg) => {
    log.push(msg[0] + (msg[0] === 'bye' ? ' ' + msg[1].code : ''));
    switch (msg[0]) {
      case 'ringing':
        break;
      case 'offer': {
        pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        pc.onicecandidate = (ev) => {
          if (ev.candidate && ev.candidate.candidate)
            send(['icecandidate', { candidate: ev.candidate.candidate,
              sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex }]);
        };
        pc.ondatachannel = (ev) => {
          result.channels.push(ev.channel.label);
          if (ev.channel.label !== 'wsp')
            return;   // a WSP 1.0 peer knows only `wsp`
          wspChannel = ev.channel;
          wspChannel.onopen = () => {
            ws.send(JSON.stringify(['bye', { code: 101, description: 'Transferred' }]));
            handedOver = true;
            result.handedOver = true;
            ws.close();
          };
          wspChannel.onmessage = (e) => onSignal(JSON.parse(e.data));
        };
        const video = document.createElement('video');
        video.autoplay = true;
        video.playsInline = true;
        video.id = 'plain-wsp-video';
        document.body.append(video);
        const remote = new MediaStream();
        video.srcObject = remote;
        pc.ontrack = (ev) => remote.addTrack(ev.track);
        await pc.setRemoteDescription(msg[1]);
        for (const c of pending.splice(0))
          await pc.addIceCandidate(c);
        const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
        for (const t of mic.getTracks())
          pc.addTrack(t, mic);
        await pc.setLocalDescription(await pc.createAnswer());
        send(['answer', { type: 'answer', sdp: pc.localDescription.sdp }]);
        break;
      }
      case 'icecandidate': {
        const c = { candidate: msg[1].candidate };
        if (msg[1].sdpMid !== undefined)
          c.sdpMid = msg[1].sdpMid;
        if (msg[1].sdpMLineIndex !== undefined)
          c.sdpMLineIndex = msg[1].sdpMLineIndex;
        if (pc && pc.remoteDescription)
          await pc.addIceCandidate(c);
        else
          pending.push(c);
        break;
      }
      case 'bye':
        if (msg[1].code === 101) {
          handedOver = true;
          break;
        }
        result.byeReceived = msg[1].code;
        fail(new Error('bye ' + msg[1].code + ' ' + (msg[1].description || '')));
        break;
      default:
        fail(new Error('unexpected ' + msg[0]));
    }
  };
  ws.onopen = () => ws.send(JSON.stringify(['invite', {
    caller: { uri: callerUri }, callee: { uri: doorUri } }]));
  ws.onmessage = (ev) => onSignal(JSON.parse(ev.data)).catch(fail);
  ws.onclose = () => {
    if (!handedOver)
      fail(new Error('socket closed before the hand-over'));
  };

  const measure = async () => {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp')
        return;
      if (s.kind === 'video') {
        result.framesDecoded = s.framesDecoded || 0;
        result.frameWidth = s.frameWidth || 0;
        const codec = report.get(s.codecId);
        result.codec = codec ? codec.mimeType : null;
      } else {
        result.totalAudioEnergy = s.totalAudioEnergy || 0;
      }
    });
  };
  const deadline = Date.now() + 30000 + stayMs;
  const until = async (cond) => {
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error('timeout: ' + JSON.stringify(result));
      await Promise.race([new Promise((r) => setTimeout(r, 100)), failed]);
      if (pc)
        await measure();
    }
  };
  try {
    await until(() => result.framesDecoded > 30 && result.totalAudioEnergy > 0 && result.handedOver);
    const energy = result.totalAudioEnergy;
    await until(() => result.totalAudioEnergy > energy);
    const start = Date.now();
    while (Date.now() - start < stayMs) {
      const frames = result.framesDecoded;
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), failed]);
      await measure();
      const state = await (await fetch('/api/v1/state')).json();
      const at = Math.round((Date.now() - start) / 1000);
      if (state.calls.length !== 1 || state.calls[0].peers.length !== 1)
        throw new Error(`the door dropped the call after ${at} s`);
      if (result.framesDecoded <= frames)
        throw new Error(`no new frame after ${at} s`);
    }
    result.stayedMs = Date.now() - start;
    // Hang up on the channel, as WSP 1.0 says after the hand-over.
    send(['bye', { code: 200, description: 'done' }]);
    // Closed only once the door has ended the call: a bye still on its way
    // would be lost with the connection.
    for (;;) {
      const state = await (await fetch('/api/v1/state')).json();
      if (state.calls.length === 0)
        break;
      if (Date.now() > deadline)
        throw new Error('the door did not end the call after our bye');
      await Promise.race([new Promise((r) => setTimeout(r, 100)), failed]);
    }
    result.ok = true;
  } catch (e) {
    result.error = String(e);
  } finally {
    if (pc)
      pc.close();
    document.getElementById('plain-wsp-video')?.remove();
    if (ws.readyState === WebSocket.OPEN)
      ws.close();
  }
  return result;
}

describe('a plain WSP 1.0 peer', { skip }, () => {
  let station, browser, alice;
  const run = (fn) => withLogs(station, () => [alice], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    browser = await launchBrowser();
    alice = await openPage(browser, station, 'alice');
  });

  after(() => shutDown(browser, station));

  test('calls the door: hand-over, frames decoded, audio heard, bye on the channel', () => run(async () => {
    const r = await alice.page.evaluate(plainWspCall,
        { callerUri: station.uri('alice'), doorUri: station.doorUri });
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.equal(r.ok, true);
    assert.equal(r.handedOver, true);
    assert.ok(r.framesDecoded > 30, 'frames: ' + r.framesDecoded);
    assert.equal(r.frameWidth, 640);
    assert.match(r.codec ?? '', /VP8/i);
    assert.ok(r.totalAudioEnergy > 0);
    assert.ok(r.channels.includes('wsp'), 'the door made the wsp channel');
    assert.deepEqual(r.log.slice(0, 2), ['ringing', 'offer'], JSON.stringify(r.log));
    await expectNoCall(alice, station, 'the door ended the call after our bye 200');
    // The app's own registered socket in the same page was not disturbed.
    assert.equal(await alice.page.evaluate(() => window.intercom.state), 'idle');
    await poll(() => alice.page.evaluate(() => window.intercom.registered), (x) => x === true,
        { what: 'the app is still registered' });
    const st = await getState(alice, station);
    assert.equal(st.relays.door, false, 'no relay moved');
  }));

  // It knows no keepalive of ours: the door watches its packets (its audio
  // and RTCP), and does not cut it off.
  test('stays in the call for 60 s and is not cut off', () => run(async () => {
    const r = await alice.page.evaluate(plainWspCall,
        { callerUri: station.uri('alice'), doorUri: station.doorUri, stayMs: 60000 });
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.equal(r.ok, true);
    assert.ok(r.stayedMs >= 60000, 'stayed ' + r.stayedMs + ' ms');
    assert.equal(r.byeReceived, null, 'no bye from the door');
    await expectNoCall(alice, station, 'the door ended the call after our bye 200');
    assert.equal(station.output().includes('vanished'), false, 'no peer taken for lost');
  }));
});
