// The voice of the customer in Chromium, once per database, with a real SMTP server: a
// customer buys a fridge; the survey reaches them by mail; they answer it from the link,
// without signing in, with a negative comment in Chinese; a product manager finds the item
// in the product's improvement backlog with its classification, corrects the ladder level,
// and finds the customer by searching a word of the comment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, startSmtpSink, launchBrowser, waitFor, staffLogin, api } from '../lib.mjs';

const shots = new URL('../test-results/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

const COMMENT = '冰箱门的密封条用了一个月就变形了，门关不严，冷气一直往外跑，非常失望。';

for (const database of ['sqlite', 'postgres']) {
  test(`voice of the customer on ${database}`, { timeout: 300_000 }, async (t) => {
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
    const address = `zhaomin.${suffix}@example.com`;

    let product;
    await t.test('a purchase brings a survey by mail', async () => {
      const products = await api(server, token, 'GET', '/api/v1/products?limit=50');
      product = products.items.find((p) => p.name.includes('冰箱')) ?? products.items[0];
      const customer = await api(server, token, 'POST', '/api/v1/customers', {
        name: '赵敏',
        emails: [{ address, primary: true }],
        consent: ['email'],
      });
      await api(server, token, 'POST', '/api/v1/orders', {
        customer_id: customer.id,
        channel: 'store',
        items: [{ product_id: product.id, quantity: 1, serials: product.serialized ? [`E2E-${suffix}`] : [] }],
      });
    });

    let link;
    await t.test('the customer answers from the emailed link with a negative comment', async () => {
      const mail = await waitFor('the survey mail', async () =>
        (await smtp.mails()).find((m) => m.to.includes(address)),
      );
      link = mail.body.match(/https?:\/\/\S+\/s\/\S+/)[0];
      const context = await browser.newContext({ locale: 'zh-CN' });
      const page = await context.newPage();
      await page.goto(link);
      await page.check('#q-csat input[value="1"]');
      await page.check('#q-nps input[value="2"]');
      await page.check('#q-ces input[value="2"]');
      await page.fill('#comment', COMMENT);
      await page.screenshot({ path: `${shots}${database}-voc-1-survey.png`, fullPage: true });
      await page.click('#send');
      await page.waitForSelector('#thanks');
      await context.close();
    });

    await t.test('a product manager finds it in the backlog, corrects it and finds the customer', async () => {
      const pm = await staffLogin(browser, server, 'product_manager');
      await pm.click('a[href="/feedback"]');
      await pm.click('a[href="/improvements"]');
      await pm.selectOption('#b-product', String(product.id));
      await pm.click('#apply');
      await pm.waitForURL(/product_id=/);
      const entry = pm.locator('#backlog tr', { hasText: '密封条' });
      await entry.locator('a').first().click();
      await pm.waitForURL(/\/improvements\/\d+/);
      await pm.screenshot({ path: `${shots}${database}-voc-2-backlog.png`, fullPage: true });
      await pm.locator('#feedback li', { hasText: '用了一个月就变形' }).locator('a').click();
      await pm.waitForURL(/\/feedback\/\d+/);
      assert.equal(await pm.getAttribute('#sentiment', 'data-value'), 'negative');
      const ladder = await pm.getAttribute('#ladder', 'data-value');
      assert.ok(ladder, 'classified');
      assert.ok((await pm.textContent('#ladder-words')).trim().length > 0, 'with the words behind it');
      const corrected = ladder === 'quality' ? 'function' : 'quality';
      await pm.selectOption('#c-ladder', corrected);
      await pm.click('#save-labels');
      await pm.waitForURL(/corrected=1/);
      assert.equal(await pm.getAttribute('#ladder', 'data-value'), corrected);
      assert.match(await pm.textContent('#corrections'), /→/);
      await pm.screenshot({ path: `${shots}${database}-voc-3-corrected.png`, fullPage: true });

      // Search a word of the comment from the top bar: the item is found within seconds,
      // highlighted, and leads to the customer.
      await waitFor('the comment in the search index', async () => {
        await pm.fill('header form.search input', '变形');
        await pm.press('header form.search input', 'Enter');
        await pm.waitForURL(/\/search\?/);
        return (await pm.locator('#results li[data-kind="feedback"]', { hasText: '赵敏' }).count()) > 0;
      });
      const hit = pm.locator('#results li[data-kind="feedback"]', { hasText: '赵敏' }).first();
      assert.match(await hit.innerHTML(), /<b>变形<\/b>/);
      await pm.screenshot({ path: `${shots}${database}-voc-4-search.png`, fullPage: true });
      await hit.locator('a').first().click();
      await pm.waitForURL(/\/feedback\/\d+/);
      await pm.locator('a[href^="/customers/"]', { hasText: '赵敏' }).first().click();
      await pm.waitForURL(/\/customers\/\d+/);
      assert.match(await pm.textContent('h1'), /赵敏/);
    });
  });
}
