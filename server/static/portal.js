// Progressive enhancement only: every page works without this script.
// The asset-group selector submits itself when a group is picked.
document.addEventListener('DOMContentLoaded', () => {
  for (const s of document.querySelectorAll('select[data-autosubmit]')) {
    s.addEventListener('change', () => s.form.submit());
    const b = s.form.querySelector('button[type=submit]');
    if (b) b.hidden = true;
  }
  // Live updates: when a scan completes, say so and offer a reload (the
  // page is not reloaded under the reader; the server's stream carries
  // scan ids only, and nothing from it is put into the page).
  // Only on a page of a signed-in caller (an error page has no stream).
  if ('EventSource' in window && document.body.hasAttribute('data-live')) {
    const events = new EventSource('/events');
    // The stream's state, for styles and tests: `open` once connected.
    events.addEventListener('open', () => { document.body.dataset.live = 'open'; });
    events.addEventListener('scan', () => {
      if (document.getElementById('live-note')) return;
      const note = document.createElement('p');
      note.id = 'live-note';
      note.className = 'note live';
      note.setAttribute('role', 'status');
      const reload = document.createElement('a');
      reload.href = window.location.href;
      reload.textContent = 'Reload';
      note.append('A scan has completed since this page was shown: its figures may have changed. ', reload);
      document.querySelector('main').prepend(note);
    });
  }
});
