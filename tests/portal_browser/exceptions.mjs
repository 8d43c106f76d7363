// Exceptions and auto-fix through the portal's forms, in Debian's Chromium
// driven by playwright-core. Started by tests/portal_browser.rs against a
// real `pacc serve` with `[auth] mode = "tokens"` on the demo estate:
//
//   PAC_ADMIN_TOKEN=pac_… node exceptions.mjs http://127.0.0.1:PORT SCREENSHOT_DIR
//
// Rita (requester on production) asks for an exception from an asset's
// page; Andy (approver on production) approves it on the exceptions page;
// after the next scan the issue is exempt. Andy then opens a waiting
// auto-fix job: its dry-run preview and the "Fix now" button; Rita sees
// the preview but no button. Each browser context is one user, signed in
// through the real OpenID provider's pages (tests/oidc_provider), so the
// forms go with the session cookie, its CSRF token and the browser's own
// Origin. The API is read with the bootstrap admin token. Then Rita opens a
// compliance domain and arranges a dashboard, whose link Andy opens, and
// subscribes to an e-mail digest and unsubscribes.
// Screenshots and axe-core as in journeys.mjs.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

const [base, shots] = process.argv.slice(2);
const admin = process.env.PAC_ADMIN_TOKEN;
if (!base || !shots || !admin) {
  console.error('usage: PAC_ADMIN_TOKEN=pac_… node exceptions.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

async function api(p, init = {}) {
  const r = await fetch(base + p, {
    ...init,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', ...(init.headers || {}) },
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${p}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function axe(page, name) {
  await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) {
    console.log(`  axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.length}) e.g. ${v.nodes[0]?.target}`);
  }
  check(bad.length === 0, `${name}: no serious or critical accessibility violation (axe-core ${r.testEngine?.version})`);
}

async function shot(page, file) {
  await page.screenshot({ path: path.join(shots, file), fullPage: false });
}


const browser = await chromium.launch({
  executablePath: process.env.PAC_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  // Signs `login` in through Pac's /auth/login and the provider's own
  // login and consent forms (the password is not checked).
  const user = async (login) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => failures.push(`script error: ${e}`));
    await page.goto(`${base}/auth/login?return_to=%2F`);
    for (let i = 0; i < 4 && !page.url().startsWith(base); i++) {
      if (await page.locator('input[name=login]').count()) {
        await page.fill('input[name=login]', login);
        await page.fill('input[name=password]', 'any');
      }
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    }
    // The callback's redirect back to `return_to` (/) may still be under way.
    await page.waitForURL((u) => u.href.startsWith(base) && !u.pathname.startsWith('/auth/'), { waitUntil: 'load' });
    const who = (await page.locator('.user').textContent().catch(() => '')) || '';
    check(page.url().startsWith(base) && who.trim().length > 0, `${login} is signed in (${who.trim()})`);
    return page;
  };
  const rita = await user('rita');
  const andy = await user('andy');

  // 1. Rita asks for an exception from an asset's page.
  const open = (await api('/api/v1/issues?group=production&status=open&per_page=500')).items;
  const issue = open[0];
  await rita.goto(`${base}/assets/${encodeURIComponent(issue.resource_id)}?group=production`);
  check(await rita.locator('form.request').count() === 1, 'the asset page offers the request form to a requester');
  await rita.selectOption('#req-policy', issue.policy);
  await rita.fill('#req-reason', 'Being decommissioned this sprint (OPS-42)');
  await shot(rita, 'exception-request-form.png');
  await axe(rita, 'asset 360 with the request form');
  await Promise.all([rita.waitForURL(/\/exceptions\?.*done=requested/), rita.click('form.request button[type=submit]')]);
  check((await rita.textContent('.notice')).includes('pending'), 'the exceptions page says the request is pending');
  const pending = (await api('/api/v1/exception-requests?status=pending')).items;
  check(pending.length === 1 && pending[0].resources[0] === issue.resource_id,
    `one pending request for ${issue.resource_id}`);
  const id = pending[0]?.id;
  check(await rita.locator(`form[action="/exception-requests/${id}/approve"]`).count() === 0,
    'the requester gets no approve button for its own request');
  await shot(rita, 'exception-pending.png');
  await axe(rita, 'exceptions with a pending request');

  // 2. Andy approves it.
  await andy.goto(`${base}/exceptions?group=production`);
  const button = andy.locator(`form[action="/exception-requests/${id}/approve"] button`);
  check(await button.count() === 1, 'the approver gets the approve button');
  await andy.fill(`form[action="/exception-requests/${id}/approve"] input[name=comment]`, 'ok until the sprint ends');
  await Promise.all([andy.waitForURL(/done=approved/), button.click()]);
  check((await andy.textContent(`tr[data-request="${id}"] .pill`)).trim() === 'approved', 'the request shows approved');
  await shot(andy, 'exception-approved.png');
  await axe(andy, 'exceptions after approval');

  // 3. The next scan exempts the issue.
  await api('/api/v1/scans', { method: 'POST', body: '{}' });
  let status = '';
  for (let i = 0; i < 300 && status !== 'exempted'; i++) {
    status = (await api(`/api/v1/issues/${issue.id}`)).status;
    if (status !== 'exempted') await new Promise((r) => setTimeout(r, 200));
  }
  check(status === 'exempted', `after the next scan issue ${issue.id} is ${status}`);
  await rita.goto(`${base}/assets/${encodeURIComponent(issue.resource_id)}?group=production`);
  check(await rita.locator('#applies .pill.exempt').count() >= 1, 'asset 360 shows the rule exempt');
  await shot(rita, 'exception-exempt.png');

  // 4. A fix's preview; "Fix now" for the approver only.
  // Production's first waiting job, from Andy's list.
  await andy.goto(`${base}/fixes?group=production&status=waiting`);
  const jobLink = andy.locator('main table a[href^="/fixes/"]').first();
  check(await jobLink.count() === 1, 'production has a waiting auto-fix job');
  const job = { id: (await jobLink.textContent()).trim() };
  await Promise.all([andy.waitForURL(new RegExp(`/fixes/${job.id}\\?`)), jobLink.click()]);
  check(await andy.locator('#preview [data-preview]').count() === 1, `job ${job.id} shows its dry-run preview`);
  const preview = (await andy.textContent('#preview [data-preview]')).trim();
  check(preview.length > 0, `the preview says what would happen: ${preview}`);
  check(await andy.locator(`form[action="/fixes/${job.id}/run"] button`).count() === 1, 'the approver gets "Fix now"');
  check((await andy.textContent('[data-countdown]')).trim().length > 0, 'the grace period counts down');
  await shot(andy, 'fix-preview.png');
  await axe(andy, 'auto-fix job');
  await rita.goto(`${base}/fixes/${job.id}?group=*`);
  check(await rita.locator(`form[action="/fixes/${job.id}/run"]`).count() === 0, 'a requester gets no "Fix now"');

  // 5. Compliance domains: the list, then one domain's dashboard, whose
  // figure is the API's.
  await rita.goto(`${base}/domains?group=production`);
  check(await rita.locator('[data-domain="cis_aws"]').count() === 1, 'the domains page lists the CIS domain');
  await axe(rita, 'compliance domains');
  const link = rita.locator('[data-domain="cloud_security"] a');
  await Promise.all([rita.waitForURL(/\/domains\/cloud_security\?/), link.click()]);
  const want = (await api('/api/v1/domains/cloud_security?group=production')).overall;
  const shown = (await rita.textContent('[data-figure="overall"]')).trim();
  check(shown === `${want.toFixed(1)} %`, `the domain's figure ${shown} is the API's ${want}`);
  await shot(rita, 'domain.png');
  await axe(rita, 'a compliance domain');

  // 6. Rita arranges a dashboard; Andy opens its link and sees it, without
  // the owner's controls.
  await rita.goto(`${base}/dashboards?group=production`);
  await rita.fill('#board-name', 'Production at a glance');
  await Promise.all([rita.waitForURL(/\/dashboards\/\d+\?/), rita.click('#new-board button')]);
  const boardUrl = rita.url();
  const add = async (kind, domain) => {
    await rita.selectOption('#w-kind', kind);
    await rita.selectOption('#w-domain', domain);
    await Promise.all([rita.waitForNavigation(), rita.click('#add-widget button[value=add]')]);
  };
  await add('domains', '');
  await add('policies', 'cloud_security');
  await add('trend', '');
  // The trend (last) moves up above the policies.
  await Promise.all([rita.waitForNavigation(), rita.click('section[aria-labelledby="w3"] button[value=up]')]);
  const kinds = await rita.locator('section.widget').evaluateAll((xs) => xs.map((x) => x.dataset.widget));
  check(kinds.join(',') === 'headline,domains,trend,policies', `the widgets are in the chosen order: ${kinds}`);
  await shot(rita, 'my-dashboard.png');
  await axe(rita, 'a dashboard with its controls');
  await andy.goto(boardUrl);
  const seen = await andy.locator('section.widget').count();
  check(seen === 4, `the shared link shows Andy the 4 widgets (${seen})`);
  check(await andy.locator('#add-widget').count() === 0, 'only the owner gets the controls');

  // 7. Rita subscribes herself to a weekly digest of production (it goes
  // to the address her provider gave), then unsubscribes on the page.
  await rita.goto(`${base}/digests?group=production`);
  check(await rita.locator('#no-address').count() === 0, 'a signed-in user with an address may subscribe');
  await rita.selectOption('#digest-every', 'weekly');
  await rita.fill('#digest-hour', '9');
  await rita.selectOption('#digest-group', 'production');
  await Promise.all([rita.waitForNavigation(), rita.click('#new-digest button')]);
  const rows = rita.locator('#subscriptions tbody tr');
  check(await rows.count() === 1, 'the page lists the subscription');
  const row = (await rows.first().textContent()).replace(/\s+/g, ' ');
  check(row.includes('weekly') && row.includes('9:00') && row.includes('production') && row.includes('rita@example.com'),
    `weekly at 9:00 for production to rita@example.com: ${row}`);
  await shot(rita, 'digests.png');
  await axe(rita, 'e-mail digests');
  await Promise.all([rita.waitForNavigation(), rita.click('#subscriptions button')]);
  check(await rita.locator('#subscriptions').count() === 0, 'unsubscribed on the page: none left');
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`\n${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('\nevery journey passed');
