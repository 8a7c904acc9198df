// Campaigns and offers in Chromium, once per database, with a real SMTP server: a marketer
// turns off the quiet hours, builds a warranty-ending campaign with a 10 % holdout from an
// approved library text, dry-runs it and starts it; the mail reaches a customer whose air
// conditioner leaves its warranty in 20 days; the customer buys the extended warranty; the
// campaign page shows the purchase attributed and the comparison with the holdout; an agent
// sees the extension offered on another customer's 360 page and records the acceptance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, startSmtpSink, launchBrowser, waitFor, staffLogin, api } from '../lib.mjs';

const results = new URL('../test-results/', import.meta.url).pathname;
mkdirSync(results, { recursive: true });
/** Where a picture goes: the README's pictures (the SQLite run) or test-results/. */
function shot(database, name) {
  const docs = process.env.AFTERCARE_SCREENSHOTS;
  return docs && database === 'sqlite' ? `${docs}/${name}.png` : `${results}${database}-${name}.png`;
}

/** The day in China, `months` and `days` from today, as YYYY-MM-DD. */
function chinaDay(months, days) {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, now.getUTCDate() + days));
  return d.toISOString().slice(0, 10);
}

for (const database of ['sqlite', 'postgres']) {
  test(`campaigns and offers on ${database}`, { timeout: 300_000 }, async (t) => {
    const smtp = await startSmtpSink();
    const server = await startServer({ database, smtpPort: smtp.port });
    const browser = await launchBrowser();
    t.after(async () => {
      await browser.close();
      await server.stop();
      await smtp.stop();
    });
    const token = (await server.cli('token', 'create', server.email)).trim().split('\n').pop().trim();
    const suffix = Math.random().toString(36).slice(2, 8);
    const textName = `延保提醒-${suffix}`;
    const campaignName = `保修到期提醒 ${suffix}`;

    // What the company has: an air conditioner under a 12-month 三包 policy, an extended
    // warranty to sell, an approved library text, and five customers whose air
    // conditioners leave their warranty in 20 days (one of them, at most, is held out).
    const policy = await api(server, token, 'POST', '/api/v1/policies', {
      name: `空调三包 ${suffix}`, return_days: 7, exchange_days: 15, repair_months: 12, repair_limit: 2,
    });
    const category = await api(server, token, 'POST', '/api/v1/categories', { name: `空调 ${suffix}`, policy_id: policy.id });
    const aircon = await api(server, token, 'POST', '/api/v1/products', {
      sku: `KFR-${suffix}`, name: `变频空调 ${suffix}`, category_id: category.id, price: '3999.00', serialized: true,
    });
    const extension = await api(server, token, 'POST', '/api/v1/products', {
      sku: `EXT-${suffix}`, name: '空调延保一年', category_id: category.id, price: '299.00', serialized: false,
    });
    const text = await api(server, token, 'POST', '/api/v1/message-texts', {
      name: textName,
      status: 'approved',
      body_zh_hans: '{customer_name}您好，您的{product_name}保修将于 {warranty_end} 到期，现在加购延保一年仅需 299 元。',
      body_zh_hant: '{customer_name}您好，您的{product_name}保固將於 {warranty_end} 到期。',
      body_en: 'Dear {customer_name}, the warranty of your {product_name} ends on {warranty_end}.',
    });
    await api(server, token, 'POST', '/api/v1/offers', {
      name: `空调延保 ${suffix}`, kind: 'warranty_extension', within_days: 60, text_id: text.id, product_id: extension.id,
    });
    const bought = chinaDay(-12, 20);
    const customers = [];
    for (let i = 0; i < 5; i++) {
      const address = `aircon${i}.${suffix}@example.com`;
      const c = await api(server, token, 'POST', '/api/v1/customers', {
        name: `空调客户${i}${suffix}`,
        emails: [{ address, primary: true }],
        phones: [{ number: `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` }],
        consent: ['email', 'phone'],
      });
      await api(server, token, 'POST', '/api/v1/orders', {
        customer_id: c.id, channel: 'store', ordered_on: bought,
        items: [{ product_id: aircon.id, quantity: 1, serials: [`AC-${suffix}-${i}`] }],
      });
      customers.push({ id: c.id, address, name: `空调客户${i}${suffix}` });
    }

    let marketer;
    let campaignUrl;
    await t.test('a marketer builds a warranty-ending campaign with a 10 % holdout and dry-runs it', async () => {
      marketer = await staffLogin(browser, server, 'marketer');
      await marketer.click('#nav-more summary');
      await marketer.click('#nav-more a[href="/campaigns"]');
      await marketer.waitForURL(/\/campaigns$/);
      // No quiet hours for this test's run, whatever the hour.
      await marketer.fill('#quiet_from', '0');
      await marketer.fill('#quiet_to', '0');
      await marketer.click('#budget-form button');
      await marketer.waitForURL(/done=saved/);
      // A mistake first: the form says what is wrong, in Chinese, and keeps what was typed.
      await marketer.fill('#name', campaignName);
      await marketer.selectOption('#trigger', 'warranty_ending');
      await marketer.fill('#holdout_percent', '十');
      await marketer.selectOption('#text_id', String(text.id));
      await marketer.fill('#subject_zh_hans', '{customer_name}，您的保修即将到期');
      await marketer.fill('#subject_zh_hant', '您的保固即將到期');
      await marketer.fill('#subject_en', 'Your warranty ends soon');
      await marketer.click('#campaign-form button');
      assert.match(await marketer.textContent('#errors'), /对照组比例/);
      assert.equal(await marketer.inputValue('#name'), campaignName);
      await marketer.fill('#holdout_percent', '10');
      await marketer.fill('#lead_days', '30');
      // After the mail: a call-back by an agent, unless the customer bought meanwhile.
      await marketer.selectOption('#step1_kind', 'stop');
      await marketer.selectOption('#step1_condition', 'bought');
      await marketer.selectOption('#step2_kind', 'send');
      await marketer.selectOption('#step2_channel', 'callback');
      await marketer.selectOption('#step2_text_id', String(text.id));
      await marketer.click('#campaign-form button');
      await marketer.waitForURL(/\/campaigns\/\d+\?done=created/);
      campaignUrl = marketer.url().replace(/\?.*$/, '');
      assert.match(await marketer.textContent('#status'), /草稿/);
      assert.match(await marketer.textContent('#steps'), /如果客户已购买，停止/);
      assert.match(await marketer.textContent('#steps'), new RegExp(`回访任务 · ${textName}`));
      await marketer.click('#dry-run-link');
      await marketer.waitForSelector('#dry-rows');
      const sent = await marketer.locator('#dry-rows tr[data-outcome="sent"]', { hasText: suffix }).count();
      const held = await marketer.locator('#dry-rows tr[data-outcome="held_out"]', { hasText: suffix }).count();
      assert.equal(sent + held, 5, 'each of the five, once');
      assert.ok(sent >= 1);
      const row = marketer.locator('#dry-rows tr[data-outcome="sent"]', { hasText: suffix }).first();
      assert.match(await row.textContent(), /保修将于 \d{4}-\d{2}-\d{2} 到期/);
      await marketer.screenshot({ path: shot(database, 'campaign-dry-run'), fullPage: true });
    });

    let buyer;
    await t.test('started, it mails the customers not held out through the SMTP server', async () => {
      await marketer.click('#controls button[data-to="running"]');
      await marketer.waitForURL(/done=saved/);
      assert.match(await marketer.textContent('#status'), /进行中/);
      const mail = await waitFor('a campaign mail to one of the five', async () =>
        (await smtp.mails()).find((m) => customers.some((c) => m.to.includes(c.address))),
      );
      buyer = customers.find((c) => mail.to.includes(c.address));
      assert.match(mail.body, new RegExp(`${buyer.name}您好，您的变频空调 ${suffix}保修将于 \\d{4}-\\d{2}-\\d{2} 到期`));
    });

    await t.test('the customer buys the extension; the campaign page shows it attributed', async () => {
      await api(server, token, 'POST', '/api/v1/orders', {
        customer_id: buyer.id, channel: 'ecommerce',
        items: [{ product_id: extension.id, quantity: 1 }],
      });
      await marketer.goto(campaignUrl);
      assert.match(await marketer.textContent('#attributed'), /¥\s?299\.00|299\.00/);
      assert.match(await marketer.textContent('#uplift tr[data-measure="purchase_rate"]'), /%/);
      assert.match(await marketer.textContent('#results'), /样本不足/, 'a handful held out: no interval claimed');
      await marketer.screenshot({ path: shot(database, 'campaign-results'), fullPage: true });
      // On a phone the page fits its width.
      await marketer.setViewportSize({ width: 390, height: 844 });
      const overflow = await marketer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
      // The list with its form of steps too.
      await marketer.goto(`${server.url}/campaigns`);
      const listOverflow = await marketer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(listOverflow <= 1, `the campaign form fits a phone (${listOverflow}px)`);
      await marketer.setViewportSize({ width: 1280, height: 900 });
    });

    await t.test('an agent sees the extension offered on a customer 360 and records the answer', async () => {
      const other = customers.find((c) => c.id !== buyer.id);
      const agent = await staffLogin(browser, server, 'agent');
      await agent.goto(`${server.url}/customers/${other.id}`);
      const offer = agent.locator('#offers .offer', { hasText: `空调延保 ${suffix}` });
      await offer.waitFor();
      assert.match(await offer.textContent(), /保修将于 \d{4}-\d{2}-\d{2} 到期/);
      assert.match(await offer.locator('.offer-text').textContent(), new RegExp(`${other.name}您好`));
      await offer.locator('button[value="accepted"]').click();
      await agent.waitForURL(/done=saved/);
      const after = agent.locator('#offers .offer', { hasText: `空调延保 ${suffix}` });
      assert.match(await after.locator('.last-response').textContent(), /接受/);
      assert.equal(await agent.locator('#timeline li[data-kind="offer"]').first().isVisible(), true);
      await agent.screenshot({ path: shot(database, 'campaign-offer') });

      // The campaign's call-back step left the agent tasks, each with its script.
      await agent.click('#nav-more summary');
      await agent.click('#nav-more a[href="/callbacks"]');
      await agent.waitForURL(/\/callbacks$/);
      const task = agent.locator('#open-callbacks tr[data-callback]', { hasText: new RegExp(`空调客户\\d${suffix}`) }).first();
      await task.waitFor();
      assert.match(await task.textContent(), /保修将于 \d{4}-\d{2}-\d{2} 到期/);
      assert.match(await task.textContent(), new RegExp(campaignName));
      await task.locator('select[name="result"]').selectOption('reached');
      await task.locator('input[name="note"]').fill('客户说考虑一下');
      await task.locator('button').click();
      await agent.waitForURL(/done=saved/);
      assert.match(await agent.textContent('#done-callbacks'), /客户说考虑一下/);
      await agent.screenshot({ path: shot(database, 'callbacks'), fullPage: true });
      await marketer.goto(campaignUrl);
      assert.equal((await marketer.textContent('#journeys [data-fact="answered"]')).trim(), '1');
    });
  });
}
