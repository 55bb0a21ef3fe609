// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A minimal raw WebSocket client (RFC 6455) over node:tls, for attack tests:
// it sends what a browser never would (no subprotocol, foreign Origin and
// forwarded-for headers, binary and broken frames, invalid UTF-8, floods)
// and reports exactly what the server answered. No npm package.
//
//   const ws = await connect('127.0.0.1', port, '/wsp', { protocols: ['wsp-1.0'],
//       headers: { Cookie: 'oi_session=...' }, localAddress: '127.0.0.2', ca });
//   ws.status, ws.headers, ws.body      the upgrade response (101, or an HTTP
//                                       error with its body read)
//   ws.sendText(str), ws.sendBinary(buf), ws.sendRaw(bytes)
//   await ws.next(ms)                   the next text message (a string), or
//                                       {close: code, reason} once closed
//   await ws.untilClose(ms)             {messages: [text...], close: code}
//   await ws.close(code)                close handshake, then the socket ends
//
// Client frames are masked (frame() builds any frame, masked or not, for
// sendRaw). Server frames of any length are read; pings are answered with
// pongs; a close frame is answered with one. A socket that ends without a
// close frame reads as {close: 1006}.

import tls from 'node:tls';
import crypto from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

// One frame as bytes. `payload`: Buffer or string (UTF-8). `mask`: true
// (random key, as a client must), false, or a 4-byte Buffer.
export function frame({ opcode = OP.TEXT, payload = Buffer.alloc(0), fin = true, mask = true,
  rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const len = data.length;
  let header;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  if (!mask)
    return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = Buffer.isBuffer(mask) ? mask : crypto.randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++)
    masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

function parseHead(text) {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m)
    throw new Error('not an HTTP response: ' + JSON.stringify(lines[0]));
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0)
      continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = name in headers ? headers[name] + ', ' + value : value;
  }
  return { status: Number(m[1]), headers };
}

// A chunked body, complete? Returns the decoded body or null.
function dechunk(buf) {
  const parts = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0)
      return null;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (Number.isNaN(size))
      return Buffer.concat(parts);
    if (size === 0)
      return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2)
      return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

export class WsClient {
  constructor(socket) {
    this.socket = socket;
    this.status = 0;
    this.headers = {};
    this.body = '';
    this.protocol = null;
    this.queue = [];            // texts, {binary}, then at most one {close}
    this.waiters = [];
    this.buf = Buffer.alloc(0);
    this.fragments = null;      // {opcode, parts} of a message in pieces
    this.closeEvent = null;     // {close, reason} once known
    this.closeSent = false;
    this.ended = new Promise((resolve) => socket.once('close', resolve));
  }

  // ---- receiving

  push(item) {
    const w = this.waiters.shift();
    if (w)
      w(item);
    else
      this.queue.push(item);
  }

  finish(code, reason = '') {
    if (this.closeEvent)
      return;
    this.closeEvent = { close: code, reason };
    this.push(this.closeEvent);
    // every other waiter sees the close too
    while (this.waiters.length)
      this.waiters.shift()(this.closeEvent);
  }

  onData(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.buf.length < 2)
        return;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, pos = 2;
      if (len === 126) {
        if (this.buf.length < 4)
          return;
        len = this.buf.readUInt16BE(2);
        pos = 4;
      } else if (len === 127) {
        if (this.buf.length < 10)
          return;
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
          this.protocolError('64-bit length too large');
          return;
        }
        len = Number(big);
        pos = 10;
      }
      let key = null;
      if (b1 & 0x80) {
        // RFC 6455 5.1: a server must not mask; read it anyway, but say so
        if (this.buf.length < pos + 4)
          return;
        key = this.buf.subarray(pos, pos + 4);
        pos += 4;
        this.maskedByServer = true;
      }
      if (this.buf.length < pos + len)
        return;
      let payload = Buffer.from(this.buf.subarray(pos, pos + len));
      this.buf = this.buf.subarray(pos + len);
      if (key)
        for (let i = 0; i < payload.length; i++)
          payload[i] ^= key[i & 3];
      this.onFrame(!!(b0 & 0x80), b0 & 0x0f, payload);
    }
  }

  onFrame(fin, opcode, payload) {
    switch (opcode) {
      case OP.PING:
        this.write(frame({ opcode: OP.PONG, payload }));
        return;
      case OP.PONG:
        return;
      case OP.CLOSE: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
        if (!this.closeSent) {
          this.closeSent = true;
          this.write(frame({ opcode: OP.CLOSE, payload: payload.subarray(0, 2) }));
        }
        this.finish(code, reason);
        this.socket.end();
        return;
      }
      case OP.TEXT:
      case OP.BINARY:
      case OP.CONT: {
        if (opcode !== OP.CONT)
          this.fragments = { opcode, parts: [] };
        else if (!this.fragments) {
          this.protocolError('continuation without a message');
          return;
        }
        this.fragments.parts.push(payload);
        if (!fin)
          return;
        const whole = Buffer.concat(this.fragments.parts);
        const op = this.fragments.opcode;
        this.fragments = null;
        this.push(op === OP.TEXT ? whole.toString('utf8') : { binary: whole });
        return;
      }
      default:
        this.protocolError('unknown opcode ' + opcode);
    }
  }

  protocolError(what) {
    this.serverError = what;
    this.socket.destroy();
  }

  // The next text message (string), {binary}, or {close, reason}.
  next(timeout = 5000) {
    if (this.queue.length) {
      const item = this.queue.shift();
      if (item === this.closeEvent)
        this.queue.push(item);   // the close stays the last word
      return Promise.resolve(item);
    }
    if (this.closeEvent)
      return Promise.resolve(this.closeEvent);
    return new Promise((resolve, reject) => {
      const waiter = (item) => {
        clearTimeout(timer);
        if (item === this.closeEvent && !this.queue.includes(item))
          this.queue.push(item);
        resolve(item);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0)
          this.waiters.splice(i, 1);
        reject(new Error(`no WebSocket message within ${timeout} ms`));
      }, timeout);
      this.waiters.push(waiter);
    });
  }

  // The next message parsed as JSON (a close stays {close}).
  async nextJson(timeout = 5000) {
    const m = await this.next(timeout);
    return typeof m === 'string' ? JSON.parse(m) : m;
  }

  // Every message until the close: {messages: [parsed JSON or raw text], close}.
  async untilClose(timeout = 10000) {
    const deadline = Date.now() + timeout;
    const messages = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`the socket did not close within ${timeout} ms; got `
            + JSON.stringify(messages));
      const m = await this.next(left);
      if (m && typeof m === 'object' && 'close' in m)
        return { messages, close: m.close, reason: m.reason };
      if (typeof m === 'string') {
        try {
          messages.push(JSON.parse(m));
        } catch {
          messages.push(m);
        }
      } else {
        messages.push(m);
      }
    }
  }

  // ---- sending

  write(bytes) {
    if (!this.socket.destroyed && this.socket.writable)
      this.socket.write(bytes);
  }

  sendText(str) {
    this.write(frame({ opcode: OP.TEXT, payload: Buffer.from(str, 'utf8') }));
  }

  sendJson(value) {
    this.sendText(JSON.stringify(value));
  }

  sendBinary(buf) {
    this.write(frame({ opcode: OP.BINARY, payload: buf }));
  }

  sendRaw(bytes) {
    this.write(bytes);
  }

  // Starts (or completes) the close handshake and waits for the socket to
  // end (at most `timeout`, then it is destroyed).
  async close(code = 1000, timeout = 3000) {
    if (!this.socket.destroyed && !this.closeSent && this.status === 101) {
      this.closeSent = true;
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code, 0);
      this.write(frame({ opcode: OP.CLOSE, payload }));
    }
    let timer;
    await Promise.race([this.ended,
      new Promise((resolve) => { timer = setTimeout(resolve, timeout); })]);
    clearTimeout(timer);
    this.socket.destroy();
    await this.ended;
  }

  destroy() {
    this.socket.destroy();
  }
}

// Connects and upgrades. Resolves once the response head (and for an error,
// its body) is read; rejects on a connection error or after `timeout`.
export function connect(host, port, path, { protocols, headers = {}, localAddress, ca,
  timeout = 10000, origin } = {}) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const socket = tls.connect({
      host, port, localAddress,
      ca, rejectUnauthorized: !!ca,
      ALPNProtocols: ['http/1.1'],
    });
    const client = new WsClient(socket);
    let head = null, pending = Buffer.alloc(0), settled = false;
    const timer = setTimeout(() => fail(new Error(`upgrade of ${path}: no answer within ${timeout} ms`)),
        timeout);
    const done = () => {
      settled = true;
      clearTimeout(timer);
      resolve(client);
    };
    function fail(e) {
      if (settled)
        return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    }

    socket.on('error', (e) => {
      if (!settled)
        fail(new Error(`upgrade of ${path}: ${e.message}`));
      else
        client.socketError = e.message;
    });
    socket.on('close', () => {
      if (!settled) {
        if (head) {
          // an error response whose body ends with the connection
          client.body = pending.toString('utf8');
          done();
        } else {
          fail(new Error(`upgrade of ${path}: the connection closed without an answer`));
        }
        return;
      }
      if (client.status === 101)
        client.finish(1006, 'no close frame');
    });

    const onData = (chunk) => {
      if (settled && client.status === 101) {
        client.onData(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      if (!head) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) {
          if (pending.length > 65536)
            fail(new Error('response head too long'));
          return;
        }
        try {
          head = parseHead(pending.subarray(0, end).toString('latin1'));
        } catch (e) {
          fail(e);
          return;
        }
        pending = pending.subarray(end + 4);
        client.status = head.status;
        client.headers = head.headers;
        if (head.status === 101) {
          const expect = crypto.createHash('sha1').update(key + GUID).digest('base64');
          if (head.headers['sec-websocket-accept'] !== expect) {
            fail(new Error('wrong Sec-WebSocket-Accept: ' + head.headers['sec-websocket-accept']));
            return;
          }
          client.protocol = head.headers['sec-websocket-protocol'] ?? null;
          const rest = pending;
          pending = Buffer.alloc(0);
          done();
          if (rest.length)
            client.onData(rest);
          return;
        }
      }
      // an HTTP error: read its body
      const te = head.headers['transfer-encoding'];
      const cl = head.headers['content-length'];
      if (te && /chunked/i.test(te)) {
        const body = dechunk(pending);
        if (body === null)
          return;
        client.body = body.toString('utf8');
      } else if (cl !== undefined) {
        if (pending.length < Number(cl))
          return;
        client.body = pending.subarray(0, Number(cl)).toString('utf8');
      } else {
        return;   // until the connection closes
      }
      done();
      socket.end();
    };
    socket.on('data', onData);

    socket.once('secureConnect', () => {
      const lines = [
        `GET ${path} HTTP/1.1`,
        `Host: ${host}:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`,
        'Sec-WebSocket-Version: 13',
      ];
      if (protocols !== undefined)
        lines.push('Sec-WebSocket-Protocol: ' + [].concat(protocols).join(', '));
      if (origin !== undefined)
        lines.push(`Origin: ${origin}`);
      for (const [name, value] of Object.entries(headers))
        for (const v of [].concat(value))
          lines.push(`${name}: ${v}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
    });
  });
}
