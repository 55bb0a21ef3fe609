// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The interior station's service worker: it makes the web app installable
// (a home-screen app on a phone or tablet) and shows the ring notification
// when the page is not in view, and brings the app forward when the
// notification is touched. It caches nothing: the app only works with its
// station reachable, and a cached copy could outlive an update.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if ('focus' in w)
        return w.focus();
    }
    return self.clients.openWindow('/');
  })());
});
