// Customer value in Chromium, once per database: an analyst runs a full recompute (the
// page polls its job and reloads when it is done; with the demo's 200 customers that is
// quicker than a poll), opens the segment explorer, saves the MGC segment, opens a
// customer from it and reads why they are in that class and stage; an agent records an
// order for that customer and, seconds later, the customer's value reflects it (scored
// from the change log, without a recompute).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser } from '../lib.mjs';

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

for (const database of ['sqlite', 'postgres']) {
  test(`customer value on ${database}`, { timeout: 300_000 }, async (t) => {
    const server = await startServer({ database });
    const browser = await launchBrowser();
    t.after(async () => {
      await browser.close();
      await server.stop();
    });
    const analyst = await staffLogin(browser, server, 'analyst');

    await t.test('a full recompute shows its progress and the fitted model', async () => {
      await analyst.click('a[href="/value"]');
      await analyst.waitForURL('**/value');
      assert.match(await analyst.textContent('#bgnbd'), /r = [\d.]+, α = [\d.]+, a = [\d.]+, b = [\d.]+/);
      const before = await analyst.getAttribute('#fitted-at', 'data-at');
      await analyst.click('#recompute');
      await analyst.waitForURL('**/value');
      // While it runs the page shows a progress bar and reloads when it is done.
      await analyst.waitForFunction(
        (old) => !document.getElementById('job') && document.getElementById('fitted-at')?.dataset.at !== old,
        before,
        { timeout: 60_000 },
      );
      assert.match(await analyst.textContent('#gamma-gamma'), /p = [\d.]+, q = [\d.]+, γ = [\d.]+/);
      await analyst.screenshot({ path: `${shots}${database}-value-1-dashboard.png`, fullPage: true });
    });

    let customerUrl;
    let customerName;
    await t.test('the analyst saves the MGC segment and opens a customer from it', async () => {
      await analyst.click('a[href="/value/segments"]');
      await analyst.selectOption('#f-class', 'mgc');
      await analyst.click('#apply');
      await analyst.waitForURL(/class=mgc/);
      const count = Number(await analyst.textContent('#count'));
      assert.ok(count > 0, 'the demo has growable customers');
      assert.match(await analyst.textContent('#charts'), /最具成长性/);
      await analyst.fill('#seg-name', '最具成长性客户');
      await analyst.click('#save-segment');
      await analyst.waitForURL(/saved=\d+/);
      assert.match(await analyst.textContent('#flash'), /分群已保存/);
      assert.match(await analyst.textContent('#saved'), /最具成长性客户/);
      await analyst.screenshot({ path: `${shots}${database}-value-2-segment.png`, fullPage: true });
      // The saved segment opens with its filter.
      await analyst.click('#saved a:has-text("最具成长性客户")');
      await analyst.waitForURL(/class=mgc/);
      assert.equal(Number(await analyst.textContent('#count')), count);
      const first = analyst.locator('#results tbody tr').first().locator('a');
      customerName = await first.textContent();
      await first.click();
      await analyst.waitForURL(/\/customers\/\d+(\?done=\w+)?$/);
      customerUrl = analyst.url();
    });

    await t.test('the customer page explains their class and stage', async () => {
      assert.match(await analyst.textContent('h1'), new RegExp(customerName));
      assert.match(await analyst.textContent('#value-class'), /最具成长性（MGC）/);
      const why = analyst.locator('#why');
      assert.match(await why.locator('dd[data-topic="class"]').textContent(), /预测未来 \d+ 个月价值 ¥[\d,.]+，至少是当前年价值 ¥[\d,.]+ 的 [\d.]+ 倍/);
      assert.match(await why.locator('dd[data-topic="stage"]').textContent(), /购买|接触|认识/);
      // P(active) with its value, or, for a customer who bought once, why there is none.
      assert.match(await why.locator('dd[data-topic="value"]').textContent(), /活跃概率 [\d.]+|活跃概率无从判断（历史不足）/);
      await analyst.screenshot({ path: `${shots}${database}-value-3-customer.png`, fullPage: true });
    });

    await t.test("an order is in the customer's value within seconds", async () => {
      const text = await analyst.locator('#why dd[data-topic="value"]').textContent();
      const before = Number(text.match(/购买 (\d+) 次/)[1]);
      const agent = await staffLogin(browser, server, 'agent');
      await agent.goto(customerUrl);
      await agent.click('a[href^="/orders/new"]');
      const options = await agent.locator('select[name="items[0].product_id"] option').evaluateAll((os) =>
        os.filter((o) => o.value).map((o) => ({ value: o.value, text: o.textContent })),
      );
      await agent.selectOption('select[name="items[0].product_id"]', options[0].value);
      await agent.fill('input[name="items[0].quantity"]', '1');
      await agent.fill('input[name="items[0].serials"]', `VALUE-${database}-${Date.now()}`);
      await agent.selectOption('#channel', 'store');
      await agent.click('button[type=submit]');
      await agent.waitForURL(/\/customers\/\d+(\?done=\w+)?$/);
      const started = Date.now();
      let now = before;
      while (now === before && Date.now() - started < 15_000) {
        await analyst.waitForTimeout(500);
        await analyst.reload();
        const t2 = await analyst.locator('#why dd[data-topic="value"]').textContent();
        now = Number(t2.match(/购买 (\d+) 次/)[1]);
      }
      assert.equal(now, before + 1, 'scored again from the change log');
      assert.ok(Date.now() - started < 15_000);
    });

    await t.test('the model is checked on a holdout period, on a phone too', async () => {
      const day = new Date(Date.now() - 120 * 86_400_000).toISOString().slice(0, 10);
      await analyst.goto(`${server.url}/value`);
      await analyst.click('#holdout-link');
      await analyst.waitForURL('**/value/holdout');
      // The end before the calibration: refused, naming the field in Chinese.
      await analyst.fill('#calibration-end', day);
      await analyst.fill('#end', '2000-01-01');
      await analyst.click('form.toolbar button');
      await analyst.waitForURL(/calibration_end=/);
      assert.match(await analyst.textContent('#errors'), /校准期截止日/);
      await analyst.fill('#end', '');
      await analyst.click('form.toolbar button');
      await analyst.waitForURL(/calibration_end=/);
      assert.ok(Number(await analyst.textContent('#cohort')) > 0);
      assert.match(await analyst.textContent('#summary'), /留出期/);
      if (await analyst.locator('#tracking').count()) {
        assert.ok((await analyst.locator('#by-frequency tbody tr').count()) > 0);
        assert.match(await analyst.textContent('#predicted'), /\d/);
      } else {
        assert.match(await analyst.textContent('#fit-error'), /\S/);
      }
      await analyst.setViewportSize({ width: 390, height: 844 });
      const overflow = await analyst.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
      await analyst.screenshot({ path: `${shots}${database}-value-4-holdout-phone.png`, fullPage: true });
      await analyst.setViewportSize({ width: 1280, height: 800 });
    });

    await t.test('a recompute as of a day in the past says so on the model card', async () => {
      const day = new Date(Date.now() - 90 * 86_400_000).toISOString().slice(0, 10);
      await analyst.goto(`${server.url}/value`);
      const before = await analyst.getAttribute('#fitted-at', 'data-at');
      await analyst.fill('#as-of-input', day);
      await analyst.click('#recompute');
      await analyst.waitForURL('**/value');
      await analyst.waitForFunction(
        (old) => !document.getElementById('job') && document.getElementById('fitted-at')?.dataset.at !== old,
        before,
        { timeout: 60_000 },
      );
      assert.equal(await analyst.getAttribute('#as-of', 'data-fixed'), 'true');
      assert.match(await analyst.textContent('#as-of'), new RegExp(`${day}.*指定日期`));
      assert.match(await analyst.textContent('#calibration'), new RegExp(day));
      // A day in the future is refused beside the form, and the model stays.
      await analyst.fill('#as-of-input', '2099-01-01');
      await analyst.click('#recompute');
      assert.match(await analyst.textContent('.flash.bad'), /评分基准日.*不能晚于今天/);
      await analyst.goto(`${server.url}/value`);
      assert.match(await analyst.textContent('#as-of'), new RegExp(day));
    });
  });
}
