// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The virtual door panel: drives the simulated GPIO chip of a station
// started with [gpio] chip=sim (GET /api/v1/me says "sim": true).
// Buttons: #panel-input-<name> (held = active); relay lamps:
// #panel-relay-<name> (class `on`), polled every 500 ms; #panel-hangup.

import { api } from './api.js';

const POLL_MS = 500;
const $ = (id) => document.getElementById(id);


function message(text) {
  const el = $('panel-message');
  el.textContent = text;
  el.hidden = !text;
}

const validName = (n) => /^[A-Za-z0-9._-]{1,31}$/.test(n);

function setInput(name, active) {
  api('POST', 'sim/inputs/' + encodeURIComponent(name), { active })
    .then((r) => {
      if (!r.ok)
        message('Input ' + name + ': ' + r.status + (r.data && r.data.error ? ' ' + r.data.error : ''));
    })
    .catch(() => message('The door station is not reachable.'));
}

function addButton(name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.id = 'panel-input-' + name;
  b.className = 'press' + (name === 'bell' ? ' bell' : '');
  b.textContent = name;
  b.setAttribute('aria-pressed', 'false');
  let held = false;
  const press = (ev) => {
    if (held)
      return;
    held = true;
    if (ev && ev.pointerId !== undefined) {
      try {
        b.setPointerCapture(ev.pointerId);
      } catch (e) { /* not capturable */ }
    }
    b.classList.add('held');
    b.setAttribute('aria-pressed', 'true');
    setInput(name, true);
  };
  const release = () => {
    if (!held)
      return;
    held = false;
    b.classList.remove('held');
    b.setAttribute('aria-pressed', 'false');
    setInput(name, false);
  };
  b.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    press(ev);
  });
  b.addEventListener('pointerup', release);
  b.addEventListener('pointercancel', release);
  b.addEventListener('pointerleave', release);
  b.addEventListener('lostpointercapture', release);
  b.addEventListener('contextmenu', (ev) => ev.preventDefault());
  b.addEventListener('keydown', (ev) => {
    if ((ev.key === ' ' || ev.key === 'Enter') && !ev.repeat) {
      ev.preventDefault();
      press();
    }
  });
  b.addEventListener('keyup', (ev) => {
    if (ev.key === ' ' || ev.key === 'Enter')
      release();
  });
  b.addEventListener('blur', release);
  $('panel-inputs').append(b);
}

function setRelay(name, active) {
  if (!validName(name))
    return;
  let li = document.getElementById('panel-relay-' + name);
  if (!li) {
    li = document.createElement('li');
    li.id = 'panel-relay-' + name;
    li.className = 'lamp';
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.textContent = name;
    li.append(dot, label);
    $('panel-relays').append(li);
  }
  li.classList.toggle('on', !!active);
}

let buttonsMade = false;

async function poll() {
  try {
    const r = await api('GET', 'state');
    if (r.status === 401) {
      message('Log in on the interior station first.');
      return;
    }
    if (r.ok && r.data) {
      if (!buttonsMade) {
        buttonsMade = true;
        const names = Object.keys(r.data.inputs || {}).filter(validName);
        for (const n of names.length ? names : ['bell', 'in1', 'in2'])
          addButton(n);
      }
      for (const [name, active] of Object.entries(r.data.relays || {}))
        setRelay(name, active);
      const calls = Array.isArray(r.data.calls) ? r.data.calls : [];
      $('panel-calls').textContent = calls.length
        ? calls.map((c) => (c.mode === 'bell' ? 'bell call' : 'door call') + ' ' + c.state +
            (Array.isArray(c.peers) && c.peers.length
              ? ' (' + c.peers.map((p) => p.uri).join(', ') + ')' : '')).join('; ')
        : 'No call.';
      $('panel-hangup').disabled = !calls.length;
      message('');
    }
  } catch (e) {
    message('The door station is not reachable.');
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function start() {
  let me;
  try {
    me = await api('GET', 'me');
  } catch (e) {
    message('The door station is not reachable.');
    return;
  }
  if (!me.ok) {
    message('Log in on the interior station first.');
    return;
  }
  $('panel-station').textContent = (me.data.name || '') + (me.data.door ? ' (' + me.data.door + ')' : '');
  if (!me.data.sim) {
    message('This station drives real hardware: there is no virtual door panel.');
    return;
  }
  $('panel-main').hidden = false;
  $('panel-hangup').addEventListener('click', async () => {
    const r = await api('POST', 'calls/hangup').catch(() => null);
    if (!r || !r.ok)
      message('Hang-up failed' + (r ? ': ' + r.status : '.'));
  });
  poll();
}

start();
