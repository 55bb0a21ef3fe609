// SPDX-License-Identifier: LGPL-2.1-or-later
//
// One HTTPS request to a test station, trusting its own certificate
// (station.ca), without keep-alive (libsoup and node's agent reuse do not
// mix: "socket hang up"). `cookie` and `csrf` go in their headers; `headers`
// come last and override them. Resolves to {status, headers, json, text}.

import https from 'node:https';

export function request(st, method, path, { body, cookie, csrf, headers = {}, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: st.port, method, path, ca: st.ca, agent: false,
      localAddress,
      headers: {
        ...(cookie ? { Cookie: cookie } : {}),
        ...(typeof csrf === 'string' ? { 'X-CSRF-Token': csrf } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = data ? JSON.parse(data) : null; } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text: data });
      });
    });
    req.on('error', (e) => reject(new Error(`${method} ${path}: ${e.message}`)));
    if (body !== undefined)
      req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}
