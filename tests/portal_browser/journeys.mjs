// Browser journeys through Pac's portal, in Debian's Chromium driven by
// playwright-core. Started by tests/portal_browser.rs against a real
// `pacc serve` on the demo estate:
//
//   node journeys.mjs http://127.0.0.1:PORT SCREENSHOT_DIR
//
// Each journey checks what the page shows against the API's own answer,
// saves a screenshot, and runs axe-core: a serious or critical
// accessibility violation fails the run. Exit status 0 only when every
// check passed.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node journeys.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

async function api(p) {
  const r = await fetch(base + p);
  if (r.status !== 200) throw new Error(`${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

/// Every item of a paged API list.
async function all(p) {
  const sep = p.includes('?') ? '&' : '?';
  const out = [];
  for (let page = 1; ; page++) {
    const v = await api(`${p}${sep}per_page=500&page=${page}`);
    out.push(...v.items);
    if (v.items.length < 500) return out;
  }
}

const num = (s) => parseFloat(String(s).replace(/[^0-9.]/g, ''));
const close = (a, b) => Math.abs(a - b) <= 0.051;

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
  // The machine has no internet: without these Chromium floods refused
  // connections (DESIGN.md, "Real components in tests").
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  // The pages' CSP allows only their own script; axe-core is injected by
  // the test, so the test's context bypasses it.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => failures.push(`script error: ${e}`));

  // 1. The dashboard, then another asset group: the figures follow.
  await page.goto(`${base}/?group=*`);
  const overall = await api('/api/v1/compliance');
  const shown = num(await page.textContent('[data-figure=overall]'));
  check(close(shown, overall.overall), `dashboard overall ${shown} = API ${overall.overall}`);
  check(await page.locator('.chart svg').count() === 1, 'dashboard has its trend chart (SVG)');
  await shot(page, 'dashboard.png');
  await axe(page, 'dashboard');

  await Promise.all([page.waitForURL(/group=production/), page.selectOption('#group', 'production')]);
  const prod = await api('/api/v1/compliance?group=production');
  const shownProd = num(await page.textContent('[data-figure=overall]'));
  check(close(shownProd, prod.overall), `production overall ${shownProd} = API ${prod.overall}`);
  check(prod.overall !== overall.overall, 'the group has figures of its own');
  check((await page.textContent('h1')).includes('production'), 'the heading names the group');
  await shot(page, 'dashboard-production.png');
  // The choice is remembered: the next visit without ?group= shows it.
  await page.goto(`${base}/`);
  check(close(num(await page.textContent('[data-figure=overall]')), prod.overall), 'the group is remembered (cookie)');

  // 2. A policy → a failing resource → asset 360.
  const worst = prod.policies.filter((p) => p.open > 0).sort((a, b) => b.open - a.open)[0];
  await page.goto(`${base}/?group=production`);
  await Promise.all([page.waitForURL(/\/policies\//), page.click(`main table a[href^="/policies/${worst.name}?"]`)]);
  const pol = await api(`/api/v1/policies/${worst.name}?group=production`);
  check((await page.textContent('h1')).trim() === pol.title, `policy page of ${worst.name}`);
  check(close(num(await page.textContent('[data-figure=policy-compliance]')), pol.compliance.compliance),
    `policy compliance = API ${pol.compliance.compliance}`);
  await shot(page, 'policy.png');
  await axe(page, 'policy page');
  const link = page.locator('main a[href^="/assets/"]').first();
  const rid = (await link.textContent()).trim();
  await Promise.all([page.waitForURL(/\/assets\//), link.click()]);
  check((await page.textContent('h1')).trim() === rid, `asset 360 of ${rid}`);
  const fails = await page.locator('#applies .pill.fail').count();
  check(fails >= 1, `asset 360 shows the failing rule (${fails} failing)`);
  const res = await api(`/api/v1/resources/${encodeURIComponent(rid)}`);
  const openIssues = res.issues.filter((i) => i.status === 'open').length;
  check(fails === openIssues, `asset 360 failing rules ${fails} = API open issues ${openIssues}`);
  await shot(page, 'asset.png');
  await axe(page, 'asset 360');

  // 2b. Search from the box every page has: the results page agrees with
  // GET /api/v1/search, a facet narrows it, a result leads to asset 360.
  await page.goto(`${base}/assets?group=*`);
  await page.fill('#omni', 'ssh world');
  await Promise.all([page.waitForURL(/\/search\?/), page.press('#omni', 'Enter')]);
  const found = await api('/api/v1/search?q=ssh%20world&per_page=20');
  const said = await page.textContent('main .results > p.muted');
  check(found.total > 0 && num(said.split(' results')[0]) === found.total,
    `search page total (${said.trim()}) = API ${found.total}`);
  check(await page.locator('ol.hits > li').count() === Math.min(20, found.total), 'one row per hit of the page');
  check(await page.locator('ol.hits mark').count() > 0, 'matched words are highlighted');
  await shot(page, 'search.png');
  await axe(page, 'search');
  const facet = page.locator('aside.facets a', { hasText: /^resource$/ });
  await Promise.all([page.waitForURL(/kind=resource/), facet.click()]);
  const narrowed = await api('/api/v1/search?q=ssh%20world&kind=resource&per_page=20');
  const kinds = await page.locator('ol.hits > li .pill.none').allTextContents();
  check(kinds.length === Math.min(20, narrowed.total) && kinds.every((k) => k.trim() === 'resource'),
    `the kind facet narrows to ${narrowed.total} resources`);
  const first = page.locator('ol.hits > li a[href^="/assets/"]').first();
  const firstId = narrowed.hits[0].id;
  await Promise.all([page.waitForURL(/\/assets\//), first.click()]);
  check((await page.textContent('h1')).trim() === firstId, `a result leads to asset 360 of ${firstId}`);

  // 3. The issue tracker and its CSV export, compared with the API.
  await page.goto(`${base}/issues?group=production&status=open`);
  await shot(page, 'issues.png');
  await axe(page, 'issues');
  const href = await page.getAttribute('a[download]', 'href');
  const csv = await (await fetch(base + href)).text();
  const rows = parseCsv(csv);
  const header = rows.shift();
  const items = await all('/api/v1/issues?group=production&status=open');
  check(rows.length === items.length, `CSV rows ${rows.length} = API issues ${items.length}`);
  let same = rows.length === items.length;
  for (let i = 0; same && i < rows.length; i++) {
    const row = Object.fromEntries(header.map((h, j) => [h, rows[i][j]]));
    for (const h of header) {
      const want = items[i][h] === null || items[i][h] === undefined ? '' : String(items[i][h]);
      if (undefuse(row[h]) !== want) {
        same = false;
        console.log(`  row ${i} ${h}: CSV ${JSON.stringify(row[h])} API ${JSON.stringify(want)}`);
        break;
      }
    }
  }
  check(same, 'every CSV cell equals the API field of the same name');

  // 4. The other pages render and pass axe.
  for (const [p, name] of [['/policies', 'policies'], ['/assets', 'assets'], ['/exceptions', 'exceptions'],
    ['/fixes', 'fixes'], ['/scans', 'scans'], ['/tagging', 'tagging'], ['/vulnerabilities', 'vulnerabilities'],
    ['/issues?status=open&sort=severity', 'issues-by-severity']]) {
    const r = await page.goto(`${base}${p}${p.includes("?") ? "&" : "?"}group=*`);
    check(r.status() === 200, `${p} answers 200`);
    await shot(page, `${name}.png`);
    await axe(page, name);
  }

  // 5. A phone, and the dark theme.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, bypassCSP: true });
  const pp = await phone.newPage();
  await pp.goto(`${base}/?group=*`);
  const wide = await pp.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no horizontal scrolling of the page on a phone (${wide} px)`);
  await shot(pp, 'dashboard-phone.png');
  const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark', bypassCSP: true });
  const dp = await dark.newPage();
  await dp.goto(`${base}/?group=*`);
  const bg = await dp.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg === 'rgb(13, 17, 23)', `dark theme background (${bg})`);
  await shot(dp, 'dashboard-dark.png');
  await axe(dp, 'dashboard (dark)');

  // 6. Live updates: a scan completes while a page is open; the page says
  // so and offers a reload. This context keeps the page's own CSP, which
  // must allow the event stream.
  const live = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const lp = await live.newPage();
  lp.on('pageerror', (e) => failures.push(`script error: ${e}`));
  const consoleErrors = [];
  lp.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await lp.goto(`${base}/issues?group=*`);
  await lp.waitForSelector('body[data-live=open]', { timeout: 30000 });
  check(await lp.locator('#live-note').count() === 0, 'no note before a scan');
  const queued = await fetch(`${base}/api/v1/scans`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  check(queued.status === 202, `a scan is queued (${queued.status})`);
  await lp.waitForSelector('#live-note', { timeout: 120000 });
  const note = await lp.textContent('#live-note');
  check(note.includes('A scan has completed'), `the page says a scan completed: ${note}`);
  check(await lp.getAttribute('#live-note a', 'href') === lp.url(), 'its link reloads the page');
  check(consoleErrors.length === 0, `no console error (CSP): ${consoleErrors.join('; ')}`);
  await shot(lp, 'live-update.png');
  await live.close();
} finally {
  await browser.close();
}

/// The CSV export defuses cells a spreadsheet would run as formulas with a
/// leading `'` (docs/portal.md); the API's value is the cell without it.
function undefuse(v) {
  return /^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v;
}

/// RFC 4180.
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

if (failures.length) {
  console.error(`\n${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('\nevery journey passed');
