// Care plans, service contracts and vouchers in Chromium, once per database: a manager makes
// the extended warranty a care plan and sets a maintenance schedule; an agent sells the
// plan on an order for the customer's air conditioner, whose guarantee has ended; a repair
// request on it is then free under the contract; the agent gives a voucher from the request
// (a sum over their limit first) and the customer uses it once on an order; on a phone the
// customer page fits its width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, staffLogin, api } from '../lib.mjs';

const results = new URL('../test-results/', import.meta.url).pathname;
mkdirSync(results, { recursive: true });
/** Where a picture goes: the README's pictures (the SQLite run) or test-results/. */
function shot(database, name) {
  const docs = process.env.AFTERCARE_SCREENSHOTS;
  return docs && database === 'sqlite' ? `${docs}/${name}.png` : `${results}${database}-${name}.png`;
}

/** The day in China, `months` from today, as YYYY-MM-DD. */
function chinaDay(months) {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, now.getUTCDate()));
  return d.toISOString().slice(0, 10);
}

for (const database of ['sqlite', 'postgres']) {
  test(`care plans and vouchers on ${database}`, { timeout: 300_000 }, async (t) => {
    const server = await startServer({ database });
    const browser = await launchBrowser();
    t.after(async () => {
      await browser.close();
      await server.stop();
    });
    const token = (await server.cli('token', 'create', server.email)).trim().split('\n').pop().trim();
    const suffix = Math.random().toString(36).slice(2, 8);

    // An air conditioner under a 12-month guarantee, bought 14 months ago; an extended
    // warranty and a filter to sell.
    const policy = await api(server, token, 'POST', '/api/v1/policies', {
      name: `空调三包 ${suffix}`, return_days: 7, exchange_days: 15, repair_months: 12, repair_limit: 2,
    });
    const category = await api(server, token, 'POST', '/api/v1/categories', { name: `空调 ${suffix}`, policy_id: policy.id });
    const aircon = await api(server, token, 'POST', '/api/v1/products', {
      sku: `KFR-${suffix}`, name: `变频空调 ${suffix}`, category_id: category.id, price: '3999.00', serialized: true,
    });
    const extension = await api(server, token, 'POST', '/api/v1/products', {
      sku: `EXT-${suffix}`, name: `延保一年 ${suffix}`, category_id: category.id, price: '299.00', serialized: false,
    });
    const filter = await api(server, token, 'POST', '/api/v1/products', {
      sku: `FLT-${suffix}`, name: `空调滤网 ${suffix}`, category_id: category.id, price: '80.00', serialized: false,
    });
    const customer = await api(server, token, 'POST', '/api/v1/customers', { name: `保障客户${suffix}` });
    await api(server, token, 'POST', '/api/v1/orders', {
      customer_id: customer.id, channel: 'store', ordered_on: chinaDay(-14),
      items: [{ product_id: aircon.id, quantity: 1, serials: [`AC-${suffix}`] }],
    });
    const item = (await api(server, token, 'GET', `/api/v1/customers/${customer.id}/360`)).assets[0];

    await t.test('a manager makes the extended warranty a care plan and schedules maintenance', async () => {
      const manager = await staffLogin(browser, server, 'manager');
      await manager.click('#nav-more summary');
      await manager.click('#nav-more a[href="/care"]');
      await manager.waitForURL(/\/care$/);
      // A mistake first: no service ticked. The page says so in Chinese and stores nothing.
      await manager.selectOption('#product_id', String(extension.id));
      await manager.selectOption('#category_id', String(category.id));
      await manager.fill('#months', '12');
      for (const box of await manager.locator('#plan-form input[name="covers"]').all()) {
        await box.uncheck();
      }
      await manager.click('#plan-form button');
      assert.match(await manager.textContent('#errors'), /必填/);
      assert.equal(await manager.locator('#plan-list tr[data-plan]', { hasText: suffix }).count(), 0);
      await manager.selectOption('#product_id', String(extension.id));
      await manager.selectOption('#category_id', String(category.id));
      await manager.check('#plan-form input[name="covers"][value="repair"]');
      await manager.check('#plan-form input[name="covers"][value="maintenance"]');
      await manager.check('#plan-form input[name="extends_warranty"]');
      await manager.click('#plan-form button');
      await manager.waitForURL(/done=created/);
      const row = manager.locator('#plan-list tr[data-plan]', { hasText: suffix });
      assert.match(await row.textContent(), /维修、保养/);
      await manager.selectOption('#schedule-product', String(aircon.id));
      await manager.fill('#every_months', '6');
      await manager.click('#schedule-form button');
      await manager.waitForURL(/done=saved/);
      assert.match(await manager.textContent('#schedules'), new RegExp(`变频空调 ${suffix}`));
      await manager.screenshot({ path: shot(database, 'care-plans'), fullPage: true });
    });

    let agent;
    await t.test('an agent sells the plan for the item; a repair on it is then free', async () => {
      agent = await staffLogin(browser, server, 'agent');
      await agent.goto(`${server.url}/customers/${customer.id}`);
      await agent.click('#new-order');
      await agent.selectOption('select[name="items[0].product_id"]', String(extension.id));
      await agent.selectOption('#cover_asset_id', String(item.id));
      await agent.click('form[action="/orders/new"] button[type=submit]');
      await agent.waitForURL(new RegExp(`/customers/${customer.id}$`));
      const contract = agent.locator('#care tr[data-contract]');
      assert.match(await contract.textContent(), new RegExp(`延保一年 ${suffix}.*生效中`, 's'));
      assert.match(await agent.textContent('#assets'), /服务合约：保障至 \d{4}-\d{2}-\d{2}/);
      // Maintenance: six months after delivery, long past.
      assert.match(await agent.textContent('#care'), /已逾期/);
      const request = await api(server, token, 'POST', '/api/v1/requests', {
        customer_id: customer.id, asset_id: item.id, service_type: 'repair', subject: '空调不制冷', channel: 'phone',
      });
      await agent.goto(`${server.url}/requests/${request.id}`);
      assert.match(await agent.textContent('#charge'), /免费.*服务合约保障期内/s);
    });

    let code;
    await t.test('the agent gives a voucher from the request, within their limit', async () => {
      await agent.selectOption('#voucher-kind', 'amount');
      await agent.fill('#voucher-value', '500');
      await agent.fill('#voucher-reason', '上门迟到两小时');
      await agent.click('#voucher-form button');
      assert.match(await agent.textContent('.flash.bad'), /超出您可发放的额度/);
      await agent.fill('#voucher-value', '50');
      await agent.fill('#voucher-reason', '上门迟到两小时');
      await agent.click('#voucher-form button');
      await agent.waitForURL(/done=voucher/);
      const v = agent.locator('#vouchers .voucher');
      assert.match(await v.textContent(), /¥50\.00.*未使用/s);
      code = await v.getAttribute('data-code');
      assert.match(code, /^[2-9A-HJKMNP-Z]{8}$/);
    });

    await t.test('the customer uses the voucher once', async () => {
      const order = async () => {
        await agent.goto(`${server.url}/orders/new?customer_id=${customer.id}`);
        await agent.selectOption('select[name="items[0].product_id"]', String(filter.id));
        await agent.fill('#voucher_code', code.toLowerCase());
        await agent.click('form[action="/orders/new"] button[type=submit]');
      };
      await order();
      await agent.waitForURL(new RegExp(`/customers/${customer.id}$`));
      const used = agent.locator(`#care tr[data-code="${code}"]`);
      assert.match(await used.textContent(), /已用于订单/);
      const orders = await api(server, token, 'GET', `/api/v1/orders?customer_id=${customer.id}`);
      assert.ok(orders.items.some((o) => o.total === 3000), 'the filter for ¥30 after ¥50 off');
      await order();
      assert.match(await agent.textContent('form[action="/orders/new"]'), /这张代金券已经用过/);
      await agent.goto(`${server.url}/customers/${customer.id}`);
      await agent.screenshot({ path: shot(database, 'customer-care'), fullPage: true });
      await agent.setViewportSize({ width: 390, height: 844 });
      const overflow = await agent.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
    });
  });
}
