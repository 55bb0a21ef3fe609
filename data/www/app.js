// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The interior station: a browser page that registers at the door station
// (WSP home server), rings when the door calls, calls the door, shows the
// door's video, talks to it and drives its relays over the `io` channel.
// Protocol: DESIGN.md §3 and docs/intercomd.md.
//
// Test hooks: window.intercom (the object `hooks` below). Its contract:
//   me          the GET /api/v1/me answer, null before login
//   state       'login' | 'idle' | 'ringing' | 'calling' | 'connected' | 'ended'
//               ('ended' stays until the next call starts)
//   states      every state entered, in order (for "never connected" checks)
//   registered  true while a registered socket waits for a call
//   connection  what the connection badge shows: 'offline' (logged out),
//               'connecting' (not registered yet since the login),
//               'ready' (registered), 'in call', 'reconnecting' (it was
//               registered, and the station is away: a restart?)
//   lastInvite  the last invite message array received
//   lastInviteAt  when it arrived: ms since the epoch, fractional
//               (performance.timeOrigin + performance.now(); benchmarks)
//   lastBye     {code, description} of the last bye received (101 excluded)
//   io          every io message received, parsed (arrays), in order
//   errors      strings: every error the page met
//   trace       strings: every WSP message sent and received, in order,
//               e.g. '> socket invite', '< channel bye 200' (at most 500)
//   pc          the RTCPeerConnection of the current call, or null
//   lastPc      the RTCPeerConnection of the current or last call
//   handedOver  the current (or last) call's signalling moved to the wsp
//               channel (bye 101) and its WebSocket was closed
//   notifications  ring notifications shown (the page was not in view)
//   ice         the last GET /api/v1/ice answer: {iceServers,
//               iceTransportPolicy}
//   doors       the doors that register at this station when it is a home
//               server: [{uri, name, registered}] from GET /api/v1/state
//   answer(), decline(), hangup(), callDoor([uri]), sendIo(msgArray) -> bool
//               (callDoor: this station's door, or the door at uri)
//   stats()     async: {framesDecoded, frameWidth, frameHeight,
//               totalAudioEnergy, videoCodec ('vp8'|'h264'|...), audioCodec}
//               of the current (or last) call's inbound RTP; zeros without one

import { api as fetchApi } from './api.js';

const WSP_PROTOCOL = 'wsp-1.0';
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// Once registered, a lost station (a restart, a power cut, the network) is
// tried again soon and never more than this apart, so the page is
// registered again within a few seconds of the station being back.
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 2000;
const HANGUP_FLUSH_MS = 1000;
// A home server's page in view: how often the doors' registrations are
// looked at.
const DOORS_REFRESH_MS = 5000;

const BYE_TEXT = {
  101: 'transferred', 200: 'The call ended.', 400: 'Bad request.',
  401: 'Not logged in.', 403: 'Not allowed.', 404: 'Unknown address.',
  408: 'No answer (timeout).', 480: 'Not reachable.', 486: 'Busy.',
  487: 'Answered elsewhere or cancelled.', 500: 'Internal error at the door.',
  603: 'Declined.',
};

const $ = (id) => document.getElementById(id);

const hooks = {
  me: null,
  state: 'login',
  states: ['login'],
  registered: false,
  connection: 'offline',
  lastInvite: null,
  lastInviteAt: null,
  lastBye: null,
  io: [],
  errors: [],
  trace: [],
  pc: null,
  lastPc: null,
  handedOver: false,
  doors: [],
  ice: null,
  notifications: 0,
  answer: () => answerCall(),
  decline: () => declineCall(),
  hangup: () => hangupCall(),
  callDoor: (uri) => callDoor(uri),
  sendIo: (msg) => sendIo(msg),
  stats: () => callStats(),
};
window.intercom = hooks;

function setState(s) {
  if (hooks.state === s)
    return;
  hooks.state = s;
  hooks.states.push(s);
  document.body.dataset.state = s;
  render();
}

function logError(text) {
  hooks.errors.push(String(text));
  console.warn('intercom:', text);
}

function trace(dir, via, msg) {
  let t = dir + ' ' + via + ' ' + msg[0];
  if (msg[0] === 'bye' && msg[1])
    t += ' ' + msg[1].code;
  if (hooks.trace.length >= 500)
    hooks.trace.shift();
  hooks.trace.push(t);
}

// Send a WSP message on a WebSocket, traced.
function wsSend(ws, via, msg) {
  trace('>', via, msg);
  ws.send(JSON.stringify(msg));
}

function showMessage(text) {
  $('message').textContent = text;
}

// ---------------------------------------------------------------- HTTP API

async function api(method, path, body) {
  let r;
  try {
    r = await fetchApi(method, path, body);
  } catch (e) {
    // A network error: the station is away (a restart?), not the session.
    if (loggedIn && path !== 'login')
      stationAway();
    throw e;
  }
  if (r.status === 401 && path !== 'login' && hooks.me) {
    // Only the station saying so ends the session here (log-out elsewhere,
    // a new password, its lifetime): back to the login form.
    sessionLost();
  }
  return r;
}

// ------------------------------------------------------------- login/logout

async function start() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', logout);
  $('answer').addEventListener('click', () => answerCall());
  $('decline').addEventListener('click', () => declineCall());
  $('hangup').addEventListener('click', () => hangupCall());
  $('mute').addEventListener('click', toggleMute);
  $('open-door').addEventListener('click', () => {
    if (!sendIo(['relay', { name: 'door', action: 'pulse' }]))
      showCallStatus('The door cannot be opened: no IO channel.');
  });
  $('call-door').addEventListener('click', () => callDoor());
  $('notify').addEventListener('click', askNotifications);
  renderNotifyButton();
  // Installable, and ring notifications from the background.
  if ('serviceWorker' in navigator)
    navigator.serviceWorker.register('sw.js').catch((e) => logError('service worker: ' + e));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && hooks.me && !call)
      refreshState();
  });
  // Browsers start audio only after a gesture: any click unlocks the tone.
  document.addEventListener('pointerdown', unlockAudio, { passive: true });

  let me = null;
  try {
    const r = await api('GET', 'me');
    if (r.ok)
      me = r.data;
  } catch (e) {
    logError('GET /api/v1/me: ' + e);
  }
  if (me)
    enterMain(me);
  else
    showLogin();
}

function showLogin() {
  setState('login');
  $('main').hidden = true;
  $('login').hidden = false;
  $('user').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const err = $('login-error');
  const submit = $('login-submit');
  err.hidden = true;
  submit.disabled = true;
  unlockAudio();
  try {
    const r = await api('POST', 'login',
        { user: $('user').value.trim(), password: $('password').value });
    if (!r.ok) {
      err.textContent = r.status === 401 ? 'Wrong user name or password.'
          : r.status === 429 ? 'Too many attempts. Try again later.'
          : 'Login failed (' + r.status + ')' +
            (r.data && r.data.error ? ': ' + r.data.error : '.');
      err.hidden = false;
      logError('login: ' + r.status);
      return;
    }
    const me = await api('GET', 'me');
    if (!me.ok) {
      err.textContent = 'Logged in, but the session was not kept (' +
          me.status + '). Are cookies enabled?';
      err.hidden = false;
      return;
    }
    $('password').value = '';
    enterMain(me.data);
  } catch (e) {
    err.textContent = 'The door station is not reachable.';
    err.hidden = false;
    logError('login: ' + e);
  } finally {
    submit.disabled = false;
  }
}

function enterMain(me) {
  hooks.me = me;
  $('login').hidden = true;
  $('main').hidden = false;
  $('station-name').textContent = me.name || me.door || 'Door';
  document.title = (me.name || 'Door') + ' – Open Intercom';
  $('identity').textContent = me.uri ? me.user + ' (' + me.uri + ')' : me.user;
  $('panel-link').hidden = !me.sim;
  // A home server has no door of its own: its doors register here.
  $('call-door').hidden = !me.door;
  $('io-card').hidden = !me.door;
  $('fingerprint').textContent = me.fingerprint ||
      'none: this station runs without TLS';
  setState('idle');
  showMessage('Waiting for the door bell.');
  refreshState();
  // (not while logged out, in a call, or out of view: coming back into
  // view refreshes at once)
  if (!me.door && !doorsTimer)
    doorsTimer = setInterval(() => {
      if (loggedIn && !call && document.visibilityState === 'visible')
        refreshState();
    }, DOORS_REFRESH_MS);
  refreshHistory();
  loggedIn = true;
  registration.backoff = BACKOFF_MIN_MS;
  registration.wasReady = false;
  registration.reconnecting = false;
  ensureRegistered(0);
}

async function logout() {
  loggedIn = false;
  if (call)
    hangupCall();
  stopRegistration();
  try {
    await api('POST', 'logout');
  } catch (e) {
    logError('logout: ' + e);
  }
  hooks.me = null;
  showLogin();
}

function sessionLost() {
  if (!loggedIn)
    return;
  loggedIn = false;
  if (call)
    endCall(null, 'Logged out.');
  stopRegistration();
  hooks.me = null;
  $('login-error').textContent = 'Your session ended. Please log in again.';
  $('login-error').hidden = false;
  showLogin();
}

let loggedIn = false;

// ------------------------------------------------------- IO lamps and state

function setLamp(kind, name, active) {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,31}$/.test(name))
    return;
  const list = $(kind === 'input' ? 'inputs' : 'relays');
  let li = document.getElementById(kind + '-' + name);
  if (!li) {
    li = document.createElement('li');
    li.id = kind + '-' + name;
    li.className = 'lamp';
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = name;
    li.append(dot, label);
    list.append(li);
  }
  li.classList.toggle('on', !!active);
  li.title = name + ': ' + (active ? 'active' : 'inactive');
}

function applyIoState(state) {
  if (!state || typeof state !== 'object')
    return;
  for (const [name, active] of Object.entries(state.inputs || {}))
    setLamp('input', name, active);
  for (const [name, active] of Object.entries(state.relays || {}))
    setLamp('relay', name, active);
}

async function refreshState() {
  try {
    const r = await api('GET', 'state');
    if (r.ok) {
      applyIoState(r.data);
      showDoors(r.data && r.data.doors);
    }
  } catch (e) {
    logError('GET /api/v1/state: ' + e);
  }
}

// The doors that register here (a home server): one button each.
function showDoors(doors) {
  hooks.doors = Array.isArray(doors) ? doors : [];
  const list = $('doors');
  list.replaceChildren();
  for (const d of hooks.doors) {
    if (!d || typeof d.uri !== 'string')
      continue;
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'primary big';
    button.textContent = 'Call ' + (d.name || d.uri);
    button.disabled = !d.registered;
    button.addEventListener('click', () => callDoor(d.uri));
    li.append(button);
    if (!d.registered) {
      const note = document.createElement('p');
      note.className = 'muted';
      note.textContent = 'Not connected to this server.';
      li.append(note);
    }
    list.append(li);
  }
  list.hidden = hooks.doors.length === 0;
}

let doorsTimer = null;

// ------------------------------------------------------------------ history

const MODE_TEXT = { bell: 'The door rang', door: 'Called the door' };

async function refreshHistory() {
  let r;
  try {
    r = await api('GET', 'history');
  } catch (e) {
    logError('GET /api/v1/history: ' + e);
    return;
  }
  if (!r.ok || !r.data || !Array.isArray(r.data.calls))
    return;
  const list = $('history');
  list.replaceChildren();
  for (const c of r.data.calls) {
    const li = document.createElement('li');
    li.className = 'history-item' + (c.answered ? ' answered' : ' missed');
    if (typeof c.snapshot === 'string' && c.snapshot.startsWith('/api/v1/')) {
      const img = document.createElement('img');
      img.src = c.snapshot;
      img.alt = 'Snapshot';
      img.loading = 'lazy';
      img.className = 'thumb';
      li.append(img);
    } else {
      const ph = document.createElement('span');
      ph.className = 'thumb none';
      li.append(ph);
    }
    const text = document.createElement('div');
    const what = document.createElement('strong');
    what.textContent = MODE_TEXT[c.mode] || String(c.mode);
    const when = document.createElement('time');
    const t = new Date(c.time);
    when.dateTime = isNaN(t) ? '' : t.toISOString();
    when.textContent = isNaN(t) ? '' : t.toLocaleString();
    const detail = document.createElement('span');
    detail.className = 'muted';
    const peers = Array.isArray(c.peers) ? c.peers.join(', ') : '';
    detail.textContent = (c.answered
        ? 'answered' + (typeof c.duration === 'number' ? ', ' + formatDuration(c.duration) : '')
        : (c.end === 603 ? 'declined' : 'missed')) + (peers ? ' · ' + peers : '');
    text.append(what, document.createElement('br'), when,
        document.createElement('br'), detail);
    li.append(text);
    list.append(li);
  }
  if (!r.data.calls.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No calls yet.';
    list.append(li);
  }
}

function formatDuration(s) {
  s = Math.max(0, Math.round(s));
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

// -------------------------------------------------------------- ring tone

let audioCtx = null;
let ringTimer = null;

function unlockAudio() {
  try {
    if (!audioCtx)
      audioCtx = new AudioContext();
    if (audioCtx.state === 'suspended')
      audioCtx.resume().catch(() => {});
  } catch (e) {
    logError('AudioContext: ' + e);
  }
}

function ding(freq, at, length) {
  const osc = audioCtx.createOscillator();
  const gain = audioCtx.createGain();
  osc.type = 'sine';
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
  osc.connect(gain).connect(audioCtx.destination);
  osc.start(at);
  osc.stop(at + length + 0.05);
}

function startRingTone() {
  stopRingTone();
  unlockAudio();
  if (!audioCtx)
    return;
  const dingDong = () => {
    const t = audioCtx.currentTime + 0.05;
    ding(659.25, t, 0.9);        // E5
    ding(523.25, t + 0.6, 1.4);  // C5
  };
  dingDong();
  ringTimer = setInterval(dingDong, 3000);
}

function stopRingTone() {
  if (ringTimer !== null) {
    clearInterval(ringTimer);
    ringTimer = null;
  }
}

// --------------------------------------------------------- WSP messages

function parseWsp(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (!Array.isArray(msg) || typeof msg[0] !== 'string')
    return null;
  return msg;
}

function byeOf(msg) {
  const c = msg[1] && typeof msg[1] === 'object' ? msg[1] : {};
  return {
    code: Number.isInteger(c.code) ? c.code : 0,
    description: typeof c.description === 'string' ? c.description : '',
  };
}

function wsUrl() {
  return (location.protocol === 'http:' ? 'ws://' : 'wss://') + location.host + '/wsp';
}

// --------------------------------------------- registration (mode 1 wait)

const registration = {
  ws: null,
  timer: null,
  backoff: BACKOFF_MIN_MS,
  wasReady: false,       // registered at least once since the login
  reconnecting: false,   // lost since then, not registered again yet
};

function stopRegistration() {
  clearTimeout(registration.timer);
  registration.timer = null;
  const ws = registration.ws;
  registration.ws = null;
  hooks.registered = false;
  registration.wasReady = false;
  registration.reconnecting = false;
  renderConnection();
  if (ws)
    ws.close(1000);
}

// Between half and all of ms: the pages of a house do not all come back
// in the same instant.
function jitter(ms) {
  return Math.round(ms * (0.5 + Math.random() * 0.5));
}

// The station did not answer (a fetch failed): say so, and if a
// registered socket still looks open (a power cut leaves it so), give it
// up and register again.
function stationAway() {
  if (!registration.wasReady)
    return;
  if (!registration.reconnecting)
    startReconnecting();
  const ws = registration.ws;
  if (!ws || !hooks.registered)
    return;
  registration.ws = null;
  hooks.registered = false;
  ws.onclose = null;
  ws.onmessage = null;
  ws.close(1000);
  renderConnection();
  retryRegistration();
}

function startReconnecting() {
  registration.reconnecting = true;
  registration.backoff = RECONNECT_MIN_MS;
  if (!call)
    showMessage('The door station is not reachable. Reconnecting…');
  renderConnection();
}

// Open a registered socket after delay ms unless one is open or planned.
function ensureRegistered(delay) {
  if (!loggedIn || registration.ws || registration.timer !== null)
    return;
  registration.timer = setTimeout(() => {
    registration.timer = null;
    openRegistration();
  }, delay);
}

function openRegistration() {
  if (!loggedIn || registration.ws)
    return;
  let ws;
  try {
    ws = new WebSocket(wsUrl(), WSP_PROTOCOL);
  } catch (e) {
    logError('WebSocket: ' + e);
    retryRegistration();
    return;
  }
  registration.ws = ws;
  let registered = false;
  let invited = false;
  renderConnection();

  ws.onopen = () => {
    wsSend(ws, 'registration', ['register', { uri: hooks.me.uri }]);
  };
  ws.onmessage = (ev) => {
    if (invited)
      return;   // the call owns the socket now
    const msg = parseWsp(ev.data);
    if (!msg) {
      logError('bad message on the registered socket');
      return;
    }
    trace('<', 'registration', msg);
    switch (msg[0]) {
      case 'registered':
        registered = true;
        registration.backoff = BACKOFF_MIN_MS;
        registration.wasReady = true;
        hooks.registered = true;
        if (registration.reconnecting) {
          // Back (the station may have restarted: its history and
          // inputs are new).
          registration.reconnecting = false;
          if (!call)
            showMessage('Waiting for the door bell.');
          refreshState();
          refreshHistory();
        }
        renderConnection();
        break;
      case 'invite':
        hooks.lastInviteAt = performance.timeOrigin + performance.now();
        invited = true;
        registration.ws = null;
        hooks.registered = false;
        renderConnection();
        onIncomingInvite(ws, msg);
        break;
      case 'bye': {
        const b = byeOf(msg);
        logError('registration refused: bye ' + b.code + ' ' + b.description);
        if (b.code === 401)
          api('GET', 'me');   // sessionLost() if the session is gone
        break;
      }
      default:
        logError('unexpected ' + msg[0] + ' on the registered socket');
    }
  };
  ws.onclose = () => {
    if (invited)
      return;
    if (registration.ws === ws)
      registration.ws = null;
    hooks.registered = false;
    renderConnection();
    if (!loggedIn)
      return;
    retryRegistration();
  };
  ws.onerror = () => {};
}

// The registered socket closed or could not open. Until the page was
// registered once, the backoff grows to BACKOFF_MAX_MS (a refusal that
// does not pass); after that it is a lost station, tried again every
// RECONNECT_MAX_MS at most. A 401 from GET me is what ends the session
// (sessionLost()); a network error is the station still away.
function retryRegistration() {
  let delay;
  if (registration.wasReady) {
    if (!registration.reconnecting)
      startReconnecting();
    delay = jitter(registration.backoff);
    registration.backoff = Math.min(registration.backoff * 2, RECONNECT_MAX_MS);
  } else {
    delay = jitter(registration.backoff);
    registration.backoff = Math.min(registration.backoff * 2, BACKOFF_MAX_MS);
  }
  api('GET', 'me').catch(() => {});
  ensureRegistered(delay);
}

// --------------------------------------------------------------- calls

// The current call: null, or
// { mode: 1|2, ws, pc, wsp, io, handedOver, ended, localStream,
//   remoteStream, pendingCandidates, remoteSet }
let call = null;

function newCall(mode, ws) {
  hooks.handedOver = false;
  return {
    mode, ws, pc: null, wsp: null, io: null, handedOver: false, ended: false,
    localStream: null, remoteStream: new MediaStream(), pendingCandidates: [],
    remoteSet: false, connected: false,
    // The station's ICE servers, asked for while it rings or dials.
    ice: fetchIce(),
  };
}

// GET /api/v1/ice: the STUN and TURN servers for this call, with fresh
// credentials, and the policy (relay only or not). Without an answer: no
// servers, which still works on one network.
async function fetchIce() {
  try {
    const r = await api('GET', 'ice');
    if (r.ok && r.data && Array.isArray(r.data.iceServers)) {
      hooks.ice = r.data;
      return { iceServers: r.data.iceServers,
        iceTransportPolicy: r.data.iceTransportPolicy === 'relay' ? 'relay' : 'all' };
    }
  } catch (e) {
    logError('GET /api/v1/ice: ' + e);
  }
  return {};
}

function sendSignal(c, msg) {
  const text = JSON.stringify(msg);
  if (c.handedOver) {
    if (c.wsp && c.wsp.readyState === 'open') {
      trace('>', 'channel', msg);
      c.wsp.send(text);
      return true;
    }
    return false;
  }
  if (c.ws && c.ws.readyState === WebSocket.OPEN) {
    trace('>', 'socket', msg);
    c.ws.send(text);
    return true;
  }
  return false;
}

function onIncomingInvite(ws, msg) {
  hooks.lastInvite = msg;
  if (call || !loggedIn) {
    // One call at a time (e.g. another user calls us during a door call).
    wsSend(ws, 'socket', ['bye', { code: 486, description: 'Busy' }]);
    ws.close(1000);
    ensureRegistered(0);
    return;
  }
  const c = newCall(1, ws);
  call = c;
  attachSocket(c, ws);
  wsSend(ws, 'socket', ['ringing']);

  const content = msg[1] && typeof msg[1] === 'object' ? msg[1] : {};
  const caller = content.caller && typeof content.caller === 'object' ? content.caller : {};
  const options = msg[2] && typeof msg[2] === 'object' ? msg[2] : {};
  $('ring-from').textContent = caller.name || caller.uri || 'the door';
  const img = $('ring-snapshot');
  if (typeof options.snapshot === 'string' && options.snapshot.startsWith('data:image/')) {
    img.src = options.snapshot;
    img.hidden = false;
  } else {
    img.removeAttribute('src');
    img.hidden = true;
  }
  setState('ringing');
  startRingTone();
  notifyRing(caller.name || caller.uri || 'The door');
}

// A ring while the page is not in view (another tab, the phone's screen
// off, the app in the background): a system notification, through the
// service worker where there is one (an installed app on a phone can show
// no other), which stays until it is touched or the ring ends.
async function notifyRing(from) {
  if (document.visibilityState === 'visible' || !('Notification' in window)
      || Notification.permission !== 'granted')
    return;
  const options = { body: from + ' is ringing', tag: 'ring', renotify: true,
    requireInteraction: true, icon: 'icon.svg' };
  try {
    const reg = 'serviceWorker' in navigator
        ? await navigator.serviceWorker.getRegistration() : null;
    if (reg)
      await reg.showNotification('Open Intercom', options);
    else
      new Notification('Open Intercom', options);
    hooks.notifications++;
  } catch (e) {
    logError('notification: ' + e);
  }
}

async function closeRingNotification() {
  try {
    const reg = 'serviceWorker' in navigator
        ? await navigator.serviceWorker.getRegistration() : null;
    for (const n of reg ? await reg.getNotifications({ tag: 'ring' }) : [])
      n.close();
  } catch (e) { /* none */ }
}

// The notification permission is asked for on a tap (browsers ignore a
// request without one).
function renderNotifyButton() {
  $('notify').hidden = !('Notification' in window)
      || Notification.permission !== 'default';
}

async function askNotifications() {
  try {
    await Notification.requestPermission();
  } catch (e) {
    logError('Notification.requestPermission: ' + e);
  }
  renderNotifyButton();
}

// The call's WebSocket: messages before the hand-over.
function attachSocket(c, ws) {
  ws.onmessage = (ev) => {
    if (c.ended || c.ws !== ws)
      return;
    const msg = parseWsp(ev.data);
    if (!msg) {
      logError('bad WSP message on the call socket');
      sendSignal(c, ['bye', { code: 400, description: 'Bad message' }]);
      endCall(null, 'The door sent a bad message.');
      return;
    }
    onSignal(c, msg, 'socket');
  };
  ws.onclose = () => {
    if (c.ws !== ws)
      return;
    c.ws = null;
    if (c.ended || c.handedOver)
      return;
    if (c.wsp && c.wsp.readyState === 'open') {
      // The 101 may have been lost with the socket; the channel is there.
      c.handedOver = true;
      hooks.handedOver = true;
      return;
    }
    endCall(null, 'The connection to the door was lost.');
  };
  ws.onerror = () => {};
}

function onSignal(c, msg, via) {
  const [kw, content] = msg;
  trace('<', via, msg);
  switch (kw) {
    case 'ringing':
      if (c.mode === 2 && !c.pc)
        showCallStatus('Ringing…');
      break;
    case 'offer':
      if (c.mode !== 2 || c.pc) {
        logError('unexpected offer');
        return;
      }
      acceptOffer(c, content).catch((e) => failCall(c, 'answering the offer: ' + e));
      break;
    case 'answer':
      if (c.mode !== 1 || !c.pc || c.remoteSet) {
        logError('unexpected answer');
        return;
      }
      c.pc.setRemoteDescription({ type: 'answer', sdp: content && content.sdp })
        .then(() => {
          c.remoteSet = true;
          flushCandidates(c);
        })
        .catch((e) => failCall(c, 'setRemoteDescription(answer): ' + e));
      break;
    case 'icecandidate':
      addRemoteCandidate(c, content);
      break;
    case 'bye': {
      const b = byeOf(msg);
      if (b.code === 101) {
        handOver(c);
        return;
      }
      hooks.lastBye = b;
      endCall(null, byeMessage(b));
      break;
    }
    default:
      logError('unexpected ' + kw + ' via ' + via);
  }
}

// Both ends gave up finding a network path (ICE): say so, and what helps.
const NO_PATH_TEXT = 'No connection to the door: no network path between ' +
    'this device and the door. A TURN server in the station\'s settings ' +
    '([ice] turn) lets calls through strict routers.';

function byeMessage(b) {
  if (b.code === 403)
    return 'Not allowed: this account may not call the door.';
  // The door's ICE gave up first (its bye 408 "ICE failed").
  if (b.code === 408 && call && call.pc && !call.connected
      && /ICE/.test(b.description || ''))
    return NO_PATH_TEXT;
  if (b.code === 487 && call && call.mode === 1 && !call.pc)
    return 'The call was answered elsewhere or cancelled.';
  return BYE_TEXT[b.code] || ('The call ended (' + b.code + ').');
}

// 101 received, or (caller) our wsp channel opened and we sent it.
function handOver(c) {
  if (c.handedOver)
    return;
  c.handedOver = true;
  hooks.handedOver = true;
  const ws = c.ws;
  c.ws = null;
  if (ws)
    ws.close(1000);
}

function addRemoteCandidate(c, content) {
  if (!content || typeof content.candidate !== 'string')
    return;
  const init = { candidate: content.candidate };
  if (typeof content.sdpMid === 'string')
    init.sdpMid = content.sdpMid;
  if (Number.isInteger(content.sdpMLineIndex))
    init.sdpMLineIndex = content.sdpMLineIndex;
  if (init.sdpMid === undefined && init.sdpMLineIndex === undefined)
    init.sdpMLineIndex = 0;
  if (!c.pc || !c.remoteSet) {
    c.pendingCandidates.push(init);
    return;
  }
  c.pc.addIceCandidate(init).catch((e) => logError('addIceCandidate: ' + e));
}

function flushCandidates(c) {
  const list = c.pendingCandidates;
  c.pendingCandidates = [];
  for (const init of list)
    c.pc.addIceCandidate(init).catch((e) => logError('addIceCandidate: ' + e));
}

function makePeerConnection(c, ice) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', ...ice });
  c.pc = pc;
  hooks.pc = pc;
  hooks.lastPc = pc;

  pc.onicecandidate = (ev) => {
    const cand = ev.candidate;
    if (!cand || !cand.candidate)
      return;   // end of candidates: WSP has no message for it
    const content = { candidate: cand.candidate };
    if (typeof cand.sdpMid === 'string')
      content.sdpMid = cand.sdpMid;
    if (Number.isInteger(cand.sdpMLineIndex))
      content.sdpMLineIndex = cand.sdpMLineIndex;
    sendSignal(c, ['icecandidate', content]);
  };
  pc.ontrack = (ev) => {
    if ('jitterBufferTarget' in ev.receiver) {
      try {
        ev.receiver.jitterBufferTarget = 0;
      } catch (e) {
        logError('jitterBufferTarget: ' + e);
      }
    }
    if (!c.remoteStream.getTracks().includes(ev.track))
      c.remoteStream.addTrack(ev.track);
    const video = $('remote-video');
    if (video.srcObject !== c.remoteStream)
      video.srcObject = c.remoteStream;
    video.play().catch(() => {});
  };
  pc.ondatachannel = (ev) => setupChannel(c, ev.channel);
  pc.onconnectionstatechange = () => {
    if (c.ended)
      return;
    const s = pc.connectionState;
    if (s === 'connected') {
      c.connected = true;
      setState('connected');
      showCallStatus('');
    } else if (s === 'failed') {
      // No network path between the page and the door: both behind
      // strict NATs with no TURN server, or a firewall in the way.
      logError('ICE failed: no network path to the door');
      sendSignal(c, ['bye', { code: 408, description: 'ICE failed' }]);
      endCall(null, NO_PATH_TEXT);
    } else if (s === 'disconnected') {
      showCallStatus('Connection interrupted…');
    }
  };
  return pc;
}

function setupChannel(c, ch) {
  if (ch.label === 'wsp') {
    c.wsp = ch;
    ch.onopen = () => onWspOpen(c);
    ch.onmessage = (ev) => {
      if (c.ended)
        return;
      const msg = parseWsp(ev.data);
      if (!msg) {
        logError('bad WSP message on the wsp channel');
        return;
      }
      // Anything on the channel means the door has switched to it.
      if (!c.handedOver && !(msg[0] === 'bye' && byeOf(msg).code === 101))
        handOver(c);
      onSignal(c, msg, 'channel');
    };
    ch.onclose = () => {
      // After the hand-over a closed channel is the door's end of the call;
      // a bye may trail it: give it a moment.
      if (c.ended || !c.handedOver)
        return;
      setTimeout(() => {
        if (!c.ended)
          endCall(null, 'The call ended.');
      }, 1000);
    };
    if (ch.readyState === 'open')
      onWspOpen(c);
  } else if (ch.label === 'io') {
    if (c.io && c.io !== ch && c.io.readyState === 'open')
      return;   // keep the first working one
    c.io = ch;
    ch.onmessage = (ev) => onIoMessage(ev.data);
    ch.onopen = () => renderCallButtons();
    ch.onclose = () => renderCallButtons();
  }
}

function onWspOpen(c) {
  if (c.ended)
    return;
  // The caller (mode 2: us) sends 101 on the socket and moves over.
  if (c.mode === 2 && !c.handedOver) {
    if (c.ws && c.ws.readyState === WebSocket.OPEN)
      wsSend(c.ws, 'socket', ['bye', { code: 101, description: 'Transferred' }]);
    handOver(c);
  }
}

function onIoMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    logError('bad io message');
    return;
  }
  if (!Array.isArray(msg))
    return;
  hooks.io.push(msg);
  const content = msg[1] && typeof msg[1] === 'object' ? msg[1] : {};
  switch (msg[0]) {
    case 'state':
      applyIoState(content);
      break;
    case 'input':
      setLamp('input', content.name, content.active);
      break;
    case 'relay':
      setLamp('relay', content.name, content.active);
      break;
    case 'error':
      logError('io error ' + content.code + ': ' + content.description);
      showCallStatus('The door refused: ' + (content.description || content.code));
      break;
  }
}

function sendIo(msg) {
  const ch = call && call.io;
  if (!ch || ch.readyState !== 'open')
    return false;
  ch.send(JSON.stringify(msg));
  return true;
}

async function getMicrophone(c) {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    c.localStream = stream;
    return stream.getAudioTracks()[0] || null;
  } catch (e) {
    logError('microphone: ' + e);
    showCallStatus('No microphone: you can listen, but the door cannot hear you.');
    return null;
  }
}

// Mode 1: we are the callee and make the offer.
async function answerCall() {
  const c = call;
  if (!c || c.mode !== 1 || hooks.state !== 'ringing')
    return false;
  stopRingTone();
  closeRingNotification();
  unlockAudio();
  setState('calling');
  showCallStatus('Connecting…');
  const ice = await c.ice;
  if (c.ended)
    return false;
  const pc = makePeerConnection(c, ice);
  setupChannel(c, pc.createDataChannel('wsp'));
  setupChannel(c, pc.createDataChannel('io'));
  try {
    const track = await getMicrophone(c);
    if (c.ended)
      return false;
    if (track)
      pc.addTrack(track, c.localStream);
    else
      pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (c.ended)
      return false;
    sendSignal(c, ['offer', { type: 'offer', sdp: pc.localDescription.sdp }]);
  } catch (e) {
    failCall(c, 'making the offer: ' + e);
    return false;
  }
  return true;
}

function declineCall() {
  const c = call;
  if (!c || c.mode !== 1 || hooks.state !== 'ringing')
    return false;
  sendSignal(c, ['bye', { code: 603, description: 'Declined' }]);
  endCall(null, 'Declined.');
  return true;
}

// Mode 2: we are the caller; the door (this station's, or one that
// registers here: @uri) answers with its offer.
function callDoor(uri) {
  const callee = uri || hooks.me && hooks.me.door;
  if (call || !loggedIn || !hooks.me || !callee)
    return false;
  let ws;
  try {
    ws = new WebSocket(wsUrl(), WSP_PROTOCOL);
  } catch (e) {
    logError('WebSocket: ' + e);
    showMessage('The door station is not reachable.');
    return false;
  }
  const c = newCall(2, ws);
  call = c;
  unlockAudio();
  setState('calling');
  showCallStatus('Calling the door…');
  attachSocket(c, ws);
  ws.onopen = () => {
    if (c.ended)
      return;
    wsSend(ws, 'socket', ['invite', {
      caller: { uri: hooks.me.uri, name: hooks.me.user },
      callee: { uri: callee },
    }]);
  };
  return true;
}

async function acceptOffer(c, content) {
  if (!content || typeof content.sdp !== 'string')
    throw new Error('offer without SDP');
  const ice = await c.ice;
  if (c.ended)
    return;
  const pc = makePeerConnection(c, ice);
  await pc.setRemoteDescription({ type: 'offer', sdp: content.sdp });
  c.remoteSet = true;
  flushCandidates(c);
  const track = await getMicrophone(c);
  if (c.ended)
    return;
  if (track)
    pc.addTrack(track, c.localStream);   // takes the offer's audio transceiver
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  if (c.ended)
    return;
  sendSignal(c, ['answer', { type: 'answer', sdp: pc.localDescription.sdp }]);
}

function failCall(c, what) {
  if (c.ended)
    return;
  logError(what);
  sendSignal(c, ['bye', { code: 500, description: 'Interior error' }]);
  endCall(null, 'The call failed.');
}

function hangupCall() {
  const c = call;
  if (!c)
    return false;
  if (hooks.state === 'ringing')
    return declineCall();
  if (c.mode === 2 && !c.pc)
    sendSignal(c, ['bye', { code: 487, description: 'Cancelled' }]);
  else
    sendSignal(c, ['bye', { code: 200, description: 'Hang up' }]);
  endCall(null, 'You hung up.');
  return true;
}

// End the current call locally; the bye (if any) has been sent already.
function endCall(_unused, text) {
  const c = call;
  if (!c || c.ended)
    return;
  c.ended = true;
  call = null;
  stopRingTone();
  closeRingNotification();
  hooks.pc = null;

  const ws = c.ws;
  c.ws = null;
  if (ws && ws.readyState <= WebSocket.OPEN)
    ws.close(1000);
  if (c.localStream)
    c.localStream.getTracks().forEach((t) => t.stop());
  const video = $('remote-video');
  if (video.srcObject === c.remoteStream)
    video.srcObject = null;

  // Let a bye queued on the wsp channel leave before the transport goes.
  const pc = c.pc;
  if (pc) {
    const wsp = c.wsp;
    const close = () => {
      try {
        pc.close();
      } catch (e) { /* closed */ }
    };
    if (wsp && wsp.readyState === 'open' && wsp.bufferedAmount > 0) {
      const t = setTimeout(close, HANGUP_FLUSH_MS);
      wsp.bufferedAmountLowThreshold = 0;
      wsp.onbufferedamountlow = () => {
        clearTimeout(t);
        setTimeout(close, 50);
      };
    } else {
      setTimeout(close, 50);
    }
  }

  setState('ended');
  showMessage(text || 'The call ended.');
  $('mute').setAttribute('aria-pressed', 'false');
  $('mute').textContent = 'Mute';
  refreshState();
  refreshHistory();
  // The door may write the record a moment after the bye.
  setTimeout(refreshHistory, 1500);
  ensureRegistered(0);
}

function toggleMute() {
  const c = call;
  if (!c || !c.localStream)
    return;
  const tracks = c.localStream.getAudioTracks();
  const muted = !(tracks[0] && tracks[0].enabled === false);
  tracks.forEach((t) => { t.enabled = !muted; });
  $('mute').setAttribute('aria-pressed', String(muted));
  $('mute').textContent = muted ? 'Unmute' : 'Mute';
}

function showCallStatus(text) {
  const el = $('call-status');
  el.textContent = text;
  el.hidden = !text;
}

async function callStats() {
  const out = {
    framesDecoded: 0, frameWidth: 0, frameHeight: 0, totalAudioEnergy: 0,
    videoCodec: null, audioCodec: null, connectionState: null,
  };
  const pc = hooks.pc || hooks.lastPc;
  if (!pc)
    return out;
  out.connectionState = pc.connectionState;
  let report;
  try {
    report = await pc.getStats();
  } catch (e) {
    return out;
  }
  const codecName = (id) => {
    const codec = id && report.get(id);
    return codec && codec.mimeType ? codec.mimeType.split('/')[1].toLowerCase() : null;
  };
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp')
      return;
    if (s.kind === 'video') {
      out.framesDecoded = s.framesDecoded || 0;
      out.frameWidth = s.frameWidth || 0;
      out.frameHeight = s.frameHeight || 0;
      out.videoCodec = codecName(s.codecId);
    } else if (s.kind === 'audio') {
      out.totalAudioEnergy = s.totalAudioEnergy || 0;
      out.audioCodec = codecName(s.codecId);
    }
  });
  return out;
}

// ------------------------------------------------------------- rendering

function render() {
  const s = hooks.state;
  $('ring').hidden = s !== 'ringing';
  $('call').hidden = !(s === 'calling' || s === 'connected');
  $('idle').hidden = s === 'ringing' || s === 'calling' || s === 'connected';
  $('call-door').disabled = !!call || s === 'login';
  renderCallButtons();
  renderConnection();
}

function renderCallButtons() {
  const ioOpen = !!(call && call.io && call.io.readyState === 'open');
  $('open-door').disabled = !ioOpen;
}

const CONNECTION_TEXT = {
  offline: 'offline', connecting: 'connecting…', ready: 'ready',
  'in call': 'in call', reconnecting: 'reconnecting…',
};

function renderConnection() {
  const s = !loggedIn ? 'offline' : call ? 'in call'
      : hooks.registered ? 'ready'
      : registration.reconnecting ? 'reconnecting' : 'connecting';
  hooks.connection = s;
  const el = $('connection');
  if (!el)
    return;
  el.textContent = CONNECTION_TEXT[s];
  el.classList.toggle('ok', s === 'ready' || s === 'in call');
  el.classList.toggle('warn', s === 'reconnecting');
}

start();
