// SPDX-License-Identifier: LGPL-2.1-or-later
// A page whose network goes away in a call (its link cut, as a phone that
// leaves the Wi-Fi): the door notices within 10 s, in a bell call, a call
// to the door and as a viewer; then the bell rings a fresh page. Runs in
// the namespaces that netns/run makes: this process and intercomd in the
// door's, the victims' Chromium in the interior's (peerloss.js has the
// scenario; peerloss.test.js the closed and killed browsers).

import { describe, test, before, after } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  Station, launchBrowser, openPage, withLogs, shutDown,
} from '../station.js';
import { runCase } from '../peerloss.js';

const execFileP = promisify(execFile);
const INTERIOR_NS = process.env.OI_INTERIOR_NS;
const skip = !INTERIOR_NS && 'not in the namespaces of netns/run';

async function link(state) {
  await execFileP('ip', ['-n', INTERIOR_NS, 'link', 'set', 'veth-interior', state]);
}

describe('a peer whose network is cut', { skip }, () => {
  let station, home, observer;
  const shown = {};
  const run = (fn) => withLogs(station, () => [observer, shown.fresh], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8', address: '198.51.100.1',
      allowNetworks: '198.51.100.0/24' });
    home = await launchBrowser();
    observer = await openPage(home, station, 'mallory');
  });

  after(async () => {
    await link('up').catch(() => {});
    await shutDown(home, station);
  });

  for (const role of ['bell', 'door', 'viewer']) {
    const label = `${role} call, network cut`;
    test(label, () => run(() => runCase(station, {
      role, label, observer, home, shown,
      lose: () => link('down'),
      restore: () => link('up'),
      executablePath: process.env.OI_INTERIOR_CHROMIUM,
    })));
  }
});
