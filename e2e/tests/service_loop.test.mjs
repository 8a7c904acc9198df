// The service desk's whole loop in Chromium, once per database: a customer signs up in
// the portal (finishing with the link mailed through a real SMTP server), registers a product (its warranty starts), finds help, opens a repair
// request; an agent triages it (routing gives it to the technician) and books a visit;
// the technician reports the visit and resolves the request; the customer rates it; the
// rating and the SLA outcome appear on the customer 360 timeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, startSmtpSink, launchBrowser, waitFor } from '../lib.mjs';

const shots = new URL('../test-results/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

async function staffLogin(browser, server, role) {
  const context = await browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();
  const { email, password } = server.accounts[role];
  await page.goto(`${server.url}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

/** Tomorrow at 10:00 and 12:00 in Shanghai, as datetime-local values. */
function tomorrowSlot() {
  const d = new Date(Date.now() + 8 * 3600_000 + 24 * 3600_000);
  const day = d.toISOString().slice(0, 10);
  return [`${day}T10:00`, `${day}T12:00`];
}

for (const database of ['sqlite', 'postgres']) {
  test(`the service loop on ${database}`, { timeout: 300_000 }, async (t) => {
    const smtp = await startSmtpSink();
    const server = await startServer({ database, smtpPort: smtp.port });
    const browser = await launchBrowser();
    t.after(async () => {
      await browser.close();
      await server.stop();
      await smtp.stop();
    });
    const serial = `E2E-${Date.now() % 1_000_000}`;
    const customerEmail = `kehu${Date.now() % 1_000_000}@example.cn`;
    const customer = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
    let number;
    let requestPath;

    await t.test('a customer signs up and registers a product, which starts its warranty', async () => {
      await customer.goto(`${server.url}/portal/signup`);
      await customer.fill('#name', '郑小芳');
      await customer.fill('#email', customerEmail);
      await customer.fill('#password', 'correct horse battery');
      await customer.check('input[name=email_consent]');
      await customer.click('form button');
      await customer.locator('#signup-sent').waitFor();
      const mail = await waitFor('the sign-up mail', async () =>
        (await smtp.mails()).find((m) => m.to.includes(customerEmail)),
      );
      await customer.goto(mail.body.match(/https?:\/\/\S+\/portal\/confirm\?token=\S+/)[0]);
      await customer.click('#confirm-form button');
      await customer.waitForURL('**/portal');
      await customer.fill('#serial', serial);
      await customer.click('#register-form button');
      const row = customer.locator(`tr[data-serial="${serial}"]`);
      await row.waitFor();
      assert.equal(await row.locator('.badge.in_warranty').count(), 1, 'in warranty from today');
      await customer.screenshot({ path: `${shots}${database}-loop-1-registered.png`, fullPage: true });
    });

    await t.test('searches help first, then opens a repair request', async () => {
      await customer.locator(`tr[data-serial="${serial}"] a`).click();
      await customer.waitForURL('**/portal/requests/new?asset_id=*');
      await customer.fill('input[name=q]', '空调 制冷');
      await customer.click('#help-first button');
      await customer.locator('#suggestions a', { hasText: '空调不制冷怎么办' }).waitFor();
      await customer.fill('#subject', '空调不制冷');
      await customer.fill('#description', '开机半小时后出风还是热的。');
      await customer.selectOption('#service_type', 'repair');
      await customer.click('#request-form button');
      await customer.waitForURL('**/portal/requests/*');
      number = (await customer.textContent('#number')).trim();
      assert.match(number, /^SR-\d{4}-\d{6}$/);
      assert.match(await customer.textContent('#charge'), /免费/);
      requestPath = new URL(customer.url()).pathname.replace('/portal', '');
      await customer.screenshot({ path: `${shots}${database}-loop-2-opened.png`, fullPage: true });
    });

    const agent = await staffLogin(browser, server, 'agent');
    await t.test('an agent finds it unassigned and triages it: routing gives it to the technician', async () => {
      await agent.goto(`${server.url}/requests?queue=unassigned`);
      await agent.locator('table.queue a', { hasText: number }).click();
      await agent.waitForURL((u) => u.pathname === requestPath);
      await agent.click('#transition-form button[data-status=triaged]');
      await agent.waitForURL((u) => u.pathname === requestPath);
      assert.equal(await agent.getAttribute('#status', 'data-status'), 'assigned');
      assert.match(await agent.textContent('#assignee'), /技师老陈/);
    });

    await t.test('books a visit; a clashing one is refused with the reason', async () => {
      const [from, to] = tomorrowSlot();
      await agent.fill('#starts_at', from);
      await agent.fill('#ends_at', to);
      await agent.fill('#address', '上海市徐汇区漕溪北路 1 号');
      await agent.click('#visit-form button');
      await agent.waitForURL((u) => u.pathname === requestPath);
      assert.equal(await agent.getAttribute('#status', 'data-status'), 'scheduled');
      await agent.fill('#starts_at', from.replace('T10:00', 'T11:00'));
      await agent.fill('#ends_at', to.replace('T12:00', 'T13:00'));
      await agent.click('#visit-form button');
      await agent.locator('.flash.bad').waitFor();
      assert.match(await agent.textContent('.flash.bad'), /已有预约/);
      await agent.screenshot({ path: `${shots}${database}-loop-3-scheduled.png`, fullPage: true });
    });

    const tech = await staffLogin(browser, server, 'technician');
    await t.test('the technician reports the visit and resolves the request', async () => {
      await tech.goto(`${server.url}/requests?queue=mine`);
      await tech.locator('table.queue a', { hasText: number }).click();
      const report = tech.locator('form.report-form');
      await report.locator('input[name=work_done]').fill('清洗冷凝器，补充冷媒');
      await report.locator('input[name=minutes_spent]').fill('75');
      await report.locator('input[name=confirmed_by]').fill('郑小芳');
      await report.locator('button').click();
      await tech.waitForURL((u) => u.pathname === requestPath);
      assert.match(await tech.textContent('#visits'), /清洗冷凝器/);
      await tech.click('#transition-form button[data-status=in_progress]');
      await tech.waitForURL((u) => u.pathname === requestPath);
      await tech.click('#transition-form button[data-status=resolved]');
      await tech.waitForURL((u) => u.pathname === requestPath);
      assert.equal(await tech.getAttribute('#status', 'data-status'), 'resolved');
      assert.equal(await tech.getAttribute('#sla-response', 'class'), 'badge met');
      assert.equal(await tech.getAttribute('#sla-resolution', 'class'), 'badge met');
    });

    await t.test('the customer rates the service', async () => {
      await customer.reload();
      await customer.locator('#rate').waitFor();
      await customer.check('#rate input[name=stars][value="4"]');
      await customer.fill('#comment', '师傅很专业，准时上门');
      await customer.click('#rate button');
      await customer.locator('#my-rating').waitFor();
      assert.match(await customer.textContent('#my-rating'), /师傅很专业/);
      await customer.screenshot({ path: `${shots}${database}-loop-4-rated.png`, fullPage: true });
    });

    await t.test('the rating and the SLA outcome are on the customer 360 timeline', async () => {
      await agent.goto(`${server.url}${requestPath}`);
      await agent.locator('#details a[href^="/customers/"]').click();
      await agent.waitForURL('**/customers/*');
      const rating = agent.locator('ul.timeline li[data-kind=rating]').first();
      await rating.waitFor();
      const text = await rating.textContent();
      assert.match(text, new RegExp(number));
      assert.match(text, /4\/5/);
      // Said in the reader's language, not in the codes it is stored with.
      assert.match(text, /时效：首次响应达标，解决达标/);
      assert.doesNotMatch(text, /SLA|met|rated/);
      const resolved = await agent.locator('ul.timeline li[data-kind=request_resolved]').first().textContent();
      assert.match(resolved, /时效/);
      await agent.screenshot({ path: `${shots}${database}-loop-5-timeline.png`, fullPage: true });
    });
  });
}
