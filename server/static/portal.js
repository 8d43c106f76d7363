// Progressive enhancement only: every page works without this script.
// The asset-group selector submits itself when a group is picked.
document.addEventListener('DOMContentLoaded', () => {
  for (const s of document.querySelectorAll('select[data-autosubmit]')) {
    s.addEventListener('change', () => s.form.submit());
    const b = s.form.querySelector('button[type=submit]');
    if (b) b.hidden = true;
  }
});
