// SPDX-License-Identifier: LGPL-2.1-or-later
// The station's JSON API (docs/intercomd.md), for the app and the panel:
// resolves to { ok, status, data } (data: the parsed body, or null).
// Every request but a GET carries the session's CSRF token, which the
// login and GET me answers hold.

let csrf = null;

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET' && csrf)
    init.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch('/api/v1/' + path, init);
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  }
  if (data && typeof data.csrf === 'string')
    csrf = data.csrf;
  return { ok: res.ok, status: res.status, data };
}
