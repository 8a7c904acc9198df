// The desk as agents, managers and technicians use it every day, in Chromium, in 简体中文:
// the top bar's search suggests as one types (by phone and by pinyin), the queue is
// filtered, saved as a view and refreshes itself marking what is new, the manager lands on
// the service dashboard, and a technician works the day's visits on a phone (390 × 844)
// with the menu folded away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser } from '../lib.mjs';

const shots = process.env.AFTERCARE_SCREENSHOTS || new URL('../test-results/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

async function signIn(browser, server, role, viewport) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport });
  const page = await context.newPage();
  const { email, password } = role === 'admin' ? server : server.accounts[role];
  await page.goto(`${server.url}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

/** Tomorrow in Shanghai, YYYY-MM-DD. */
function tomorrow() {
  return new Date(Date.now() + 8 * 3600_000 + 24 * 3600_000).toISOString().slice(0, 10);
}

test('the desk day to day', { timeout: 240_000 }, async (t) => {
  const server = await startServer({ database: 'sqlite' });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.stop();
  });
  const wide = { width: 1366, height: 900 };
  const phone = { width: 390, height: 844 };
  const admin = await signIn(browser, server, 'admin', wide);

  await t.test('an administrator starts on the service dashboard, its numbers linked', async () => {
    assert.equal(new URL(admin.url()).pathname, '/dashboard');
    await admin.locator('svg.chart').first().waitFor();
    await admin.screenshot({ path: `${shots}/desk-dashboard.png`, fullPage: true });
    const open = Number(await admin.textContent('[data-kpi=open] .n'));
    assert.ok(open > 0, `the demo's open requests: ${open}`);
    await admin.click('[data-kpi=open]');
    await admin.waitForURL(/\/requests\?queue=all$/);
    assert.equal(await admin.locator('table.queue tbody tr[data-id]').count(), Math.min(open, 50));
    await admin.goto(`${server.url}/dashboard?unit=month`);
    assert.equal(await admin.locator('#trend tbody tr').count(), 12);
  });

  await t.test('the search box suggests customers by phone, pinyin and serial as one types', async () => {
    const c = await admin.evaluate(async () => {
      const r = await fetch('/api/v1/customers?limit=1');
      return (await r.json()).items[0];
    });
    const box = admin.locator('#global-search input[name=q]');
    // A phone typed the way people say it: 138 0013 8000.
    const digits = c.primary_phone.replace('+86', '');
    await box.fill(`${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`);
    const first = admin.locator('#suggest li[role=option]').first();
    await first.waitFor();
    assert.match(await first.textContent(), new RegExp(c.name));
    assert.match(await first.locator('.kind').textContent(), /客户/);
    await box.press('ArrowDown');
    await box.press('Enter');
    await admin.waitForURL(new RegExp(`/customers/${c.id}$`));
    // By pinyin, run together as people type it.
    const id = await admin.evaluate(async () => {
      const csrf = document.querySelector('input[name=_csrf]').value;
      const r = await fetch('/api/v1/customers', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ name: '欧阳娜娜', phones: [{ number: '13912345678' }] }),
      });
      return (await r.json()).id;
    });
    await box.fill('ouyangnana');
    const hit = admin.locator('#suggest li[role=option]', { hasText: '欧阳娜娜' });
    await hit.waitFor();
    await admin.screenshot({ path: `${shots}/desk-search.png` });
    await hit.locator('a').click();
    await admin.waitForURL(new RegExp(`/customers/${id}$`));
    // By the serial number of an item the customer owns.
    const owner = await admin.evaluate(async () => {
      for (const c of (await (await fetch('/api/v1/customers?limit=30')).json()).items) {
        const a = (await (await fetch(`/api/v1/customers/${c.id}/360`)).json()).assets[0];
        if (a) return { id: c.id, name: c.name, serial: a.serial };
      }
      return null;
    });
    assert.ok(owner, 'a demo customer with an item');
    await box.fill(owner.serial);
    const bySerial = admin.locator('#suggest li[role=option]', { hasText: owner.name }).first();
    await bySerial.waitFor();
    assert.match(await bySerial.locator('.kind').textContent(), /客户/);
  });

  await t.test('the queue is filtered, saved as a view and marks what is new when it refreshes', async () => {
    await admin.goto(`${server.url}/requests?queue=all`);
    await admin.click('#filters summary');
    await admin.selectOption('select[name=priority]', 'normal');
    await admin.click('#filter-form button');
    await admin.waitForURL(/priority=normal/);
    const shown = await admin.locator('table.queue tbody tr[data-id]').count();
    assert.ok(shown > 0);
    const priorities = await admin.locator('table.queue tbody td[data-label=优先级]').allTextContents();
    assert.ok(priorities.every((p) => p.includes('普通')), priorities.join());
    await admin.fill('#view-form input[name=name]', '普通优先级');
    await admin.click('#view-form button');
    await admin.locator('#done').waitFor();
    const view = admin.locator('#views a', { hasText: '普通优先级' });
    assert.equal(await view.getAttribute('class'), 'on');
    // Someone opens a request by phone meanwhile: the refreshed queue marks it new.
    const opened = await admin.evaluate(async () => {
      const csrf = document.querySelector('input[name=_csrf]').value;
      const c = (await (await fetch('/api/v1/customers?limit=1')).json()).items[0];
      const r = await fetch('/api/v1/requests', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ customer_id: c.id, service_type: 'consultation', subject: '咨询延保价格', priority: 'normal' }),
      });
      return (await r.json()).id;
    });
    assert.ok(await admin.evaluate(() => window.aftercareRefreshQueue()));
    const row = admin.locator(`table.queue tr[data-id="${opened}"]`);
    await row.waitFor();
    assert.match(await row.getAttribute('class'), /new/);
    assert.match(await row.locator('.badge.new').textContent(), /新/);
    assert.ok(!(await admin.locator('#queue-fresh').isHidden()));
  });

  await t.test('a manager approves a canned reply; an agent picks it filled in for the request', async () => {
    await admin.goto(`${server.url}/replies`);
    await admin.fill('#name', '上门前确认');
    await admin.selectOption('#status', 'approved');
    await admin.fill('#body_zh_hans', '{customer_name}您好，关于请求 {request_number}，师傅出发前会先给您打电话。');
    await admin.fill('#body_zh_hant', '{customer_name}您好，關於請求 {request_number}，師傅出發前會先給您打電話。');
    await admin.fill('#body_en', 'Dear {customer_name}, about {request_nr}: the technician will call first.');
    await admin.click('#text-form button');
    // A wrong field is named and what was typed stays.
    await admin.locator('#errors').waitFor();
    assert.match(await admin.textContent('#errors'), /未知字段/);
    assert.equal(await admin.inputValue('#name'), '上门前确认');
    await admin.fill('#body_en', 'Dear {customer_name}, about {request_number}: the technician will call first.');
    await admin.click('#text-form button');
    await admin.locator('#done').waitFor();
    assert.match(await admin.textContent('#texts'), /上门前确认/);

    const agent = await signIn(browser, server, 'agent', { width: 1366, height: 900 });
    await agent.goto(`${server.url}/requests?queue=all`);
    await agent.locator('table.queue tbody tr[data-id] td a').first().click();
    await agent.locator('#reply-pick input').fill('上门');
    const option = agent.locator('#reply-options li', { hasText: '上门前确认' });
    await option.waitFor();
    await option.click();
    const text = await agent.inputValue('#message-form textarea[name=body]');
    const number = (await agent.textContent('#number')).trim();
    assert.ok(text.includes(number), text);
    assert.ok(!text.includes('{'), text);
    assert.match(text, /^\S+您好，關於請求|^\S+您好，关于请求|^Dear /);
    await agent.screenshot({ path: `${shots}/desk-canned-reply.png` });
    // The top bar's suggestions work on a request page too (beside the reply picker).
    await agent.fill('#global-search input[name=q]', number);
    await agent.locator('#suggest li[role=option]', { hasText: number }).first().waitFor();
    await agent.press('#global-search input[name=q]', 'Escape');
    await agent.click('#message-form button');
    await agent.locator('#done').waitFor();
    assert.ok((await agent.textContent('#messages')).includes(number));
  });

  await t.test('a merge shows both records side by side and asks first', async () => {
    const [a, b] = await admin.evaluate(async () => {
      const csrf = document.querySelector('input[name=_csrf]').value;
      const make = async (name, phone) => {
        const r = await fetch('/api/v1/customers', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
          body: JSON.stringify({ name, phones: [{ number: phone }], emails: [{ address: 'hebing.test@example.cn' }] }),
        });
        return (await r.json()).id;
      };
      return [await make('合并测试甲', '13600136001'), await make('合并测试乙', '13600136002')];
    });
    await admin.goto(`${server.url}/duplicates`);
    await admin.click(`a[data-merge="${a}-${b}"], a[data-merge="${b}-${a}"]`);
    await admin.locator('#merge-warning').waitFor();
    assert.match(await admin.textContent('#merge-warning'), /无法撤销/);
    const sides = await admin.locator('#merge-sides .merge-side').evaluateAll((els) => els.map((e) => e.dataset.customer));
    assert.equal(sides.length, 2);
    // Keep the other one instead: the sides change places, nothing is merged yet.
    await admin.click('#merge-swap');
    await admin.waitForURL(new RegExp(`keep=${sides[1]}&drop=${sides[0]}`));
    assert.equal(await admin.getAttribute('#merge-sides .merge-side.keep', 'data-customer'), sides[1]);
    await admin.screenshot({ path: `${shots}/desk-merge.png`, fullPage: true });
    await admin.click('#merge-confirm button');
    await admin.waitForURL(new RegExp(`/customers/${sides[1]}\\?done=merged$`));
    assert.match(await admin.textContent('#done'), /已合并/);
  });

  await t.test('a caller is found by phone for a new request, however the number is spoken', async () => {
    const c = await admin.evaluate(async () => (await (await fetch('/api/v1/customers?limit=1&sort=-created')).json()).items[0]);
    const digits = c.primary_phone.replace('+86', '');
    await admin.goto(`${server.url}/requests/new`);
    await admin.fill('#customer_q', `${digits.slice(0, 3)}-${digits.slice(3, 7)}-${digits.slice(7)}`);
    await admin.selectOption('#service_type', 'consultation');
    await admin.fill('#subject', '来电咨询保修期');
    await admin.click('form.card button');
    if (await admin.locator('#choices').count()) {
      await admin.check(`#choices input[value="${c.id}"]`);
      await admin.click('form.card button');
    }
    await admin.waitForURL(/\/requests\/\d+(\?done=\w+)?$/);
    assert.match(await admin.textContent('main'), new RegExp(c.name));
  });

  await t.test('an exchanged unit keeps no guarantee and cannot be exchanged again', async () => {
    const made = await admin.evaluate(async (today) => {
      const csrf = document.querySelector('input[name=_csrf]').value;
      const post = async (path, body) => {
        const r = await fetch(path, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
          body: JSON.stringify(body),
        });
        return r.json();
      };
      const product = (await (await fetch('/api/v1/products?limit=100')).json()).items.find((p) => p.serialized);
      const customer = await post('/api/v1/customers', { name: '换货测试', phones: [{ number: '13600136009' }] });
      const serial = `XCHG-${Date.now() % 1000000}`;
      await post('/api/v1/orders', { customer_id: customer.id, channel: 'store', ordered_on: today, items: [{ product_id: product.id, quantity: 1, serials: [serial] }] });
      const c360 = await (await fetch(`/api/v1/customers/${customer.id}/360`)).json();
      const asset = c360.assets.find((a) => a.serial === serial).id;
      const req = await post('/api/v1/requests', { customer_id: customer.id, asset_id: asset, service_type: 'exchange', subject: '新机有异响' });
      const rma = await post(`/api/v1/requests/${req.id}/rmas`, { kind: 'exchange', reason: '开箱异响' });
      for (const step of [{ status: 'approved' }, { status: 'received' }, { status: 'completed', replacement_serial: `${serial}-N` }]) {
        await post(`/api/v1/rmas/${rma.id}/steps`, step);
      }
      return { asset, request: req.id };
    }, new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10));
    // The old unit: no guarantee left.
    await admin.goto(`${server.url}/assets/${made.asset}`);
    const warranty = await admin.locator('.card', { hasText: '✗' }).first().textContent();
    assert.ok(!warranty.includes('✓'), warranty);
    assert.match(warranty, /换货/);
    // A second exchange of it is refused, with the reason.
    await admin.goto(`${server.url}/requests/${made.request}`);
    await admin.selectOption('#rma_kind', 'exchange');
    await admin.fill('#rma_reason', '还是有异响');
    await admin.click('#rma-form button');
    await admin.locator('.flash.bad').waitFor();
    assert.match(await admin.textContent('.flash.bad'), /换/);
    assert.equal(await admin.locator('#rmas [data-rma]').count(), 1);
  });

  await t.test('a visit is booked for the technician tomorrow', async () => {
    await admin.goto(`${server.url}/requests?queue=all&service_type=repair`);
    await admin.locator('table.queue tbody tr[data-id] td a').first().click();
    await admin.locator('#visit-form').waitFor();
    await admin.selectOption('#technician_id', { label: '技师老陈' });
    await admin.fill('#starts_at', `${tomorrow()}T14:00`);
    await admin.fill('#ends_at', `${tomorrow()}T15:00`);
    await admin.fill('#address', '上海市浦东新区世纪大道 100 号');
    await admin.click('#visit-form button');
    await admin.locator('#done').waitFor();
  });

  await t.test("on a phone the technician works the day's visits", async () => {
    const tech = await signIn(browser, server, 'technician', phone);
    assert.equal(new URL(tech.url()).pathname, '/visits/day');
    // The menu is folded away until asked for.
    assert.ok(await tech.locator('#nav-links').isHidden());
    await tech.click('#menu-toggle');
    assert.ok(await tech.locator('#nav-links').isVisible());
    await tech.click('#menu-toggle');
    await tech.click('a[aria-label=后一天]');
    await tech.waitForURL(new RegExp(`date=${tomorrow()}`));
    const card = tech.locator('#day-visits li.visit').filter({ hasText: '世纪大道' });
    await card.waitFor();
    assert.match(await card.locator('.time').textContent(), /14:00–15:00/);
    assert.match(await card.locator('a.call').getAttribute('href'), /^tel:\+?\d+$/);
    assert.match(await card.locator('a.nav').getAttribute('href'), /uri\.amap\.com/);
    // Nothing runs off the side of the phone.
    const overflow = await tech.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    await tech.screenshot({ path: `${shots}/desk-technician-day.png`, fullPage: true });
    await card.locator('summary').click();
    await card.locator('textarea[name=work_done]').fill('更换排水泵，试机正常');
    await card.locator('input[name=minutes_spent]').fill('50');
    await card.locator('form.report-form button').click();
    await tech.locator('#done').waitFor();
    const after = tech.locator('#day-visits li.visit').filter({ hasText: '世纪大道' });
    assert.match(await after.textContent(), /更换排水泵/);
    assert.match(await after.getAttribute('class'), /done/);
  });

  await t.test('on a phone the queue shows cards, not a squeezed table', async () => {
    const agent = await signIn(browser, server, 'agent', phone);
    assert.equal(new URL(agent.url()).pathname, '/requests');
    await agent.goto(`${server.url}/requests?queue=all`);
    const row = agent.locator('table.queue tbody tr[data-id]').first();
    const display = await row.evaluate((r) => getComputedStyle(r).display);
    assert.equal(display, 'grid');
    const overflow = await agent.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the queue is ${overflow}px wider than the phone`);
    await agent.screenshot({ path: `${shots}/desk-queue-phone.png` });
  });
});
