// Nothing raw on any page: every staff page, signed in as the administrator (who sees
// them all), and the portal's pages, in 简体中文 and 繁體中文 at 1366 × 900, show no
// message key (`stype.repair`) and no code (`in_progress`, `assigned`) as text. Runs on
// SQLite: the pages are the same on both databases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startSmtpSink, launchBrowser, waitFor } from '../lib.mjs';
import { messageKeys, findRaw } from '../walk-pages.mjs';

const STAFF_PAGES = [
  '/customers',
  '/customers/new',
  '/duplicates',
  '/products',
  '/orders',
  '/requests',
  '/requests?queue=all',
  '/requests?queue=any&sla=on_track&sort=due',
  '/requests/new',
  '/dashboard',
  '/dashboard?unit=month',
  '/visits/day',
  '/replies',
  '/campaigns',
  '/campaigns/touchpoints',
  '/offers',
  '/care',
  '/callbacks',
  '/outlets',
  '/certificates',
  '/certificates?expiring=1',
  '/standards',
  '/claims',
  '/claims/statement',
  '/scorecards',
  '/scorecards?of=outlets',
  '/quality-reviews',
  '/overview',
  '/overview?by=line',
  '/overview?by=outlet',
  '/reports/complaints',
  '/visits',
  '/articles',
  '/value',
  '/value/segments',
  '/value/holdout',
  '/feedback',
  '/improvements',
  '/feedback/dashboard',
  '/import',
  '/notifications',
  '/users',
  '/audit',
  '/search?q=空调',
];

// Detail pages: the first links of each kind on these lists.
const DETAILS = [
  ['/customers', 'a[href^="/customers/"]:not([href$="/new"])'],
  ['/orders', 'a[href^="/orders/"]:not([href$="/new"])'],
  ['/requests?queue=all', 'a[href^="/requests/"]:not([href$="/new"])'],
  ['/feedback', 'a[href^="/feedback/"]'],
  ['/improvements', 'a[href^="/improvements/"]'],
  ['/outlets', 'a[href^="/outlets/"]'],
  ['/scorecards', 'a[href^="/scorecards/people/"]'],
  // "Record order" on the first customer's page.
  ['FIRST_CUSTOMER', 'a[href^="/orders/new"]'],
];

const PORTAL_PAGES = ['/portal', '/portal/requests/new', '/portal/help'];
const PORTAL_ANONYMOUS = ['/portal/login', '/portal/signup', '/portal/forgot'];

test('no page shows a message key or a code', { timeout: 600_000 }, async (t) => {
  const smtp = await startSmtpSink();
  const server = await startServer({ smtpPort: smtp.port });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.stop();
    await smtp.stop();
  });
  const keys = messageKeys();
  const problems = [];
  // Both scripts at 1366 × 900, and 简体中文 again at a phone's 390 × 844.
  for (const [locale, width, height] of [['zh-CN', 1366, 900], ['zh-TW', 1366, 900], ['zh-CN', 390, 844]]) {
    const wide = width > 1000;
    const at = wide ? locale : `${locale} at ${width} px`;
    const context = await browser.newContext({ locale, viewport: { width, height } });
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    await page.fill('#email', server.email);
    await page.fill('#password', server.password);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    // The administrator's menu, the longest, fits at 1366 px: no link breaks inside.
    const broken = await page.$$eval('header.top a, header.top .right span', (els) =>
      els.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent.trim()),
    );
    if (wide && broken.length) problems.push(`${locale} top bar at 1366 px breaks inside: ${broken.join(', ')}`);
    // …and it is one row: the rarely used links are under "更多".
    const barHeight = await page.$eval('header.top', (h) => h.getBoundingClientRect().height);
    if (wide && barHeight > 70) problems.push(`${locale} top bar at 1366 px is ${barHeight}px high: more than one row`);
    const pages = [...STAFF_PAGES];
    for (const [list, link] of DETAILS) {
      const from = list === 'FIRST_CUSTOMER' ? pages.find((p) => /^\/customers\/\d+$/.test(p)) : list;
      if (!from) continue;
      await page.goto(server.url + from);
      // The first three of each kind: one record may lack what the next one shows.
      const hrefs = await page.$$eval(link, (as) => as.map((a) => a.getAttribute('href')));
      for (const href of [...new Set(hrefs)].slice(0, 3)) pages.push(href);
    }
    for (const path of pages) {
      const response = await page.goto(server.url + path).catch((e) => ({ status: () => String(e).slice(0, 80) }));
      if (wide) await shoot(page, locale, path, 'desktop');
      // On a phone nothing pushes the page sideways (wide tables scroll in their card).
      if (!wide) {
        const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (over > 1) problems.push(`${at} ${path}: ${over}px wider than the phone`);
      }
      // Codes shown on purpose for machines (<code>: CSV columns, commands) and text
      // marked as another language (an article's other titles) are not untranslated.
      const text = await visibleText(page);
      const raw = findRaw(text, keys);
      if (!(response.status() < 400)) problems.push(`${at} ${path}: HTTP ${response.status()}`);
      if (raw.length) problems.push(`${at} ${path}: ${raw.join(', ')}`);
    }
    await context.close();

    // The portal: its open pages, then a customer's own after signing up.
    const portal = await browser.newContext({ locale, viewport: { width, height } });
    const customer = await portal.newPage();
    const email = `walk${locale.slice(-2).toLowerCase()}${width}${Date.now() % 1_000_000}@example.cn`;
    await customer.goto(`${server.url}/portal/signup`);
    await customer.fill('#name', '语言检查');
    await customer.fill('#email', email);
    await customer.fill('#password', 'correct horse battery');
    await customer.click('form button');
    await customer.locator('#signup-sent').waitFor();
    const mail = await waitFor('the sign-up mail', async () =>
      (await smtp.mails()).find((m) => m.to.includes(email)),
    );
    const portalPaths = [...PORTAL_ANONYMOUS];
    for (const path of portalPaths) {
      await customer.goto(server.url + path);
      const raw = findRaw(await visibleText(customer), keys);
      if (raw.length) problems.push(`${locale} ${path}: ${raw.join(', ')}`);
    }
    await customer.goto(mail.body.match(/https?:\/\/\S+\/portal\/confirm\?token=\S+/)[0]);
    await customer.click('#confirm-form button');
    await customer.waitForURL('**/portal');
    for (const path of PORTAL_PAGES) {
      const response = await customer.goto(server.url + path);
      if (wide) await shoot(customer, locale, path, 'desktop');
      if (!(response.status() < 400)) problems.push(`${locale} ${path}: HTTP ${response.status()}`);
      const raw = findRaw(await visibleText(customer), keys);
      if (raw.length) problems.push(`${locale} ${path}: ${raw.join(', ')}`);
    }
    await portal.close();
  }
  assert.deepEqual(problems, [], `untranslated:\n${problems.join('\n')}`);
});

// The text a reader sees, less codes shown on purpose for machines (<code>: CSV columns,
// commands) and text marked as another language (an article's other titles).
async function visibleText(page) {
  return page.evaluate(() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('code, [lang]').forEach((e) => e.remove());
    document.documentElement.appendChild(body);
    const t = body.innerText;
    body.remove();
    return t;
  });
}

// With AFTERCARE_SCREENSHOTS=<dir>, the main pages are also saved as pictures there (at
// 1366 px, and the request page and the portal at 390 px): docs/screenshots/ is made so,
// for the README's tour.
const SHOTS = {
  '/customers': 'customers',
  '/requests?queue=all': 'service-desk',
  '/value': 'customer-value',
  '/feedback/dashboard': 'voice-of-the-customer',
  '/visits': 'visits',
  '/portal': 'portal',
};
async function shoot(page, locale, path, _kind) {
  const dir = process.env.AFTERCARE_SCREENSHOTS;
  if (!dir || locale !== 'zh-CN') return;
  const name = SHOTS[path] ?? (/^\/customers\/\d+$/.test(path) ? 'customer-360' : /^\/requests\/\d+$/.test(path) ? 'request' : null);
  if (!name) return;
  const { existsSync } = await import('node:fs');
  if (existsSync(`${dir}/${name}.png`)) return;
  await page.screenshot({ path: `${dir}/${name}.png` });
  if (name === 'request' || name === 'portal') {
    const size = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${dir}/${name}-phone.png` });
    await page.setViewportSize(size);
  }
}
