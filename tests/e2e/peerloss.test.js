// SPDX-License-Identifier: LGPL-2.1-or-later
// A page that vanishes from a call — its browser closed, or killed — is
// noticed by the door within 10 s: the call ends (main peer) and is in the
// history as lost, or the viewer is dropped and the call goes on; then the
// bell rings a fresh page. The cut network is in netns/netcut.test.js.
// The shared scenario: peerloss.js.

import { describe, test, before, after } from 'node:test';
import {
  Station, launchBrowser, openPage, withLogs, shutDown, SKIP_WITHOUT_CHROMIUM,
} from './station.js';
import { LOSSES, runCase } from './peerloss.js';

const skip = SKIP_WITHOUT_CHROMIUM;

describe('a peer that vanishes from a call', { skip }, () => {
  let station, home, observer;
  const shown = {};
  const run = (fn) => withLogs(station, () => [observer, shown.fresh], fn);

  before(async () => {
    station = await Station.start({ codec: 'vp8' });
    home = await launchBrowser();
    // The bell rings alice (the victims): the observer is someone else.
    observer = await openPage(home, station, 'mallory');
  });

  after(() => shutDown(home, station));

  for (const role of ['bell', 'door', 'viewer']) {
    for (const [how, lose] of Object.entries(LOSSES)) {
      const label = `${role} call, browser ${how === 'close' ? 'closed' : 'killed'}`;
      test(label, () => run(() => runCase(station,
          { role, lose, label, observer, home, shown })));
    }
  }
});
