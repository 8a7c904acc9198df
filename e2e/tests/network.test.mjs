// The service network and quality in Chromium, once per database: a manager sets up a
// partner outlet covering 苏州 (a mistake first, told in Chinese) and moves the partner's
// technician there; a repair for a customer in 苏州 is routed to it; the technician reports
// the visit with the service standard's checklist, one item not done; the partner files a
// warranty claim; the manager approves part of it with a reason; the month's statement
// shows what is paid and exports it; the technician's scorecard shows the visit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, staffLogin, api } from '../lib.mjs';

const results = new URL('../test-results/', import.meta.url).pathname;
mkdirSync(results, { recursive: true });
function shot(database, name) {
  const docs = process.env.AFTERCARE_SCREENSHOTS;
  return docs && database === 'sqlite' ? `${docs}/${name}.png` : `${results}${database}-${name}.png`;
}

/** Now in China as YYYY-MM-DDTHH:MM, `minutes` from now. */
function chinaTime(minutes) {
  return new Date(Date.now() + (8 * 60 + minutes) * 60 * 1000).toISOString().slice(0, 16);
}

for (const database of ['sqlite', 'postgres']) {
  test(`partner outlets, claims and scorecards on ${database}`, { timeout: 300_000 }, async (t) => {
    const server = await startServer({ database });
    const browser = await launchBrowser();
    t.after(async () => {
      await browser.close();
      await server.stop();
    });
    const token = (await server.cli('token', 'create', server.email)).trim().split('\n').pop().trim();
    const suffix = Math.random().toString(36).slice(2, 8);
    const outletName = `苏州园区特约服务站${suffix}`;

    // A customer in 苏州 with an air conditioner bought today: free repair under 三包.
    const policy = await api(server, token, 'POST', '/api/v1/policies', {
      name: `空调三包 ${suffix}`, return_days: 7, exchange_days: 15, repair_months: 12, repair_limit: 2,
    });
    const category = await api(server, token, 'POST', '/api/v1/categories', { name: `苏州空调 ${suffix}`, policy_id: policy.id });
    const aircon = await api(server, token, 'POST', '/api/v1/products', {
      sku: `SZ-${suffix}`, name: `变频空调 ${suffix}`, category_id: category.id, price: '3999.00', serialized: true,
    });
    const customer = await api(server, token, 'POST', '/api/v1/customers', {
      name: `苏州客户${suffix}`,
      addresses: [{ province: '江苏省', city: '苏州市', street: '星湖街 1 号', primary: true }],
    });
    const today = chinaTime(0).slice(0, 10);
    await api(server, token, 'POST', '/api/v1/orders', {
      customer_id: customer.id, channel: 'store', ordered_on: today,
      items: [{ product_id: aircon.id, quantity: 1, serials: [`SZ-${suffix}`] }],
    });
    const item = (await api(server, token, 'GET', `/api/v1/customers/${customer.id}/360`)).assets[0];
    const partnerId = (await api(server, token, 'GET', '/api/v1/staff-profiles'))
      .find((s) => s.name === '特约师傅阿强').user_id;
    let outletId;
    let requestId;
    let claimId;

    await t.test('a manager sets up a partner outlet covering 苏州', async () => {
      const manager = await staffLogin(browser, server, 'manager');
      await manager.goto(`${server.url}/outlets`);
      // A mistake first: the resolution target shorter than the first response's.
      await manager.fill('#o-name', outletName);
      await manager.selectOption('#o-kind', 'partner');
      await manager.fill('#o-city', '苏州');
      await manager.fill('#o-regions', '苏州、昆山');
      await manager.fill('#o-capacity', '50');
      await manager.fill('#o-response', '600');
      await manager.fill('#o-resolution', '60');
      await manager.click('#outlet-form button');
      assert.match(await manager.textContent('#errors'), /解决目标.*不能短于首次响应目标/);
      assert.equal(await manager.locator('#outlet-list tr', { hasText: outletName }).count(), 0);
      // What was typed is still there; corrected, it is saved.
      assert.equal(await manager.inputValue('#o-name'), outletName);
      await manager.fill('#o-resolution', '1440');
      await manager.fill('#o-response', '120');
      await manager.click('#outlet-form button');
      await manager.waitForURL(/\/outlets\/\d+\?done=created/);
      outletId = Number(new URL(manager.url()).pathname.split('/').pop());
      assert.match(await manager.textContent('#regions'), /苏州、昆山/);
      // The partner's technician works here now.
      await manager.selectOption('#person', String(partnerId));
      await manager.click('#add-person button');
      await manager.waitForURL(/done=saved/);
      assert.match(await manager.textContent('#staff'), /特约师傅阿强/);
      // Repairs are held to a three-item checklist.
      await manager.goto(`${server.url}/standards`);
      await manager.fill('#repair textarea', '准时到达\n穿鞋套\n清理现场');
      await manager.click('#repair button');
      await manager.waitForURL(/done=saved/);
      await manager.context().close();
    });

    await t.test('a repair in 苏州 goes to the outlet and its technician', async () => {
      const created = await api(server, token, 'POST', '/api/v1/requests', {
        customer_id: customer.id, asset_id: item.id, service_type: 'repair', subject: '空调不制冷',
      });
      requestId = created.id;
      const r = await api(server, token, 'GET', `/api/v1/requests/${requestId}`);
      assert.equal(r.request.outlet_id, outletId);
      assert.equal(r.request.assignee_id, partnerId);
      assert.equal(r.request.charge, 'free');
      // The visit, booked for an hour ago.
      await api(server, token, 'POST', `/api/v1/requests/${requestId}/visits`, {
        technician_id: partnerId, starts_at: chinaTime(-60), ends_at: chinaTime(-10),
      });
    });

    await t.test('the technician reports the visit with the checklist, and files a claim', async () => {
      const tech = await staffLogin(browser, server, 'partner', { width: 390, height: 844 });
      await tech.goto(`${server.url}/requests/${requestId}`);
      assert.match(await tech.textContent('#history'), new RegExp(`按服务范围交给网点.*${outletName}`));
      const form = tech.locator('form.report-form');
      await form.locator('input[name="work_done"]').fill('更换启动电容，试机正常');
      await form.locator('input[name="parts"]').fill('启动电容 x1');
      await form.locator('input[name="minutes_spent"]').fill('45');
      await form.locator('input[name="confirmed_by"]').fill('苏州客户');
      await form.locator('input[name="arrived_time"]').fill(chinaTime(-55).slice(11));
      await form.locator('label', { hasText: '准时到达' }).locator('input').check();
      await form.locator('label', { hasText: '清理现场' }).locator('input').check();
      await form.locator('button').click();
      await tech.waitForLoadState();
      const result = await tech.textContent('.checklist-result');
      assert.match(result, /✓ 准时到达/);
      assert.match(result, /✗ 穿鞋套/);
      assert.match(await tech.textContent('#history'), /未做到的规范项.*穿鞋套/);
      // The claim: parts and labour, checked against the 三包 decision and the report.
      await tech.fill('#claim-parts', '120');
      await tech.fill('#claim-labour', '80');
      await tech.fill('#claim-note', '更换压缩机启动电容');
      await tech.click('#claim-form button');
      await tech.waitForURL(/\/claims\/\d+\?done=created/);
      claimId = Number(new URL(tech.url()).pathname.split('/').pop());
      assert.equal((await tech.textContent('#claim-status')).trim(), '待审核');
      assert.match(await tech.textContent('#claimed'), /200\.00/);
      await tech.screenshot({ path: shot(database, 'claim-phone'), fullPage: true });
      await tech.context().close();
    });

    await t.test('the manager approves part of the claim; the statement pays it', async () => {
      const manager = await staffLogin(browser, server, 'manager');
      await manager.goto(`${server.url}/claims/${claimId}`);
      // A part approval without a reason is refused, in Chinese.
      await manager.check('#decision-form input[value="partly_approve"]');
      await manager.fill('#approved_amount', '150');
      await manager.click('#decision-form button');
      assert.match(await manager.textContent('#errors'), /必填/);
      await manager.check('#decision-form input[value="partly_approve"]');
      await manager.fill('#approved_amount', '150');
      await manager.fill('#decision-note-input', '工时费按标准 30 元');
      await manager.click('#decision-form button');
      await manager.waitForURL(/done=saved/);
      assert.equal((await manager.textContent('#claim-status')).trim(), '部分批准');
      assert.match(await manager.textContent('#approved'), /150\.00/);
      await manager.goto(`${server.url}/claims/statement?outlet_id=${outletId}`);
      assert.match(await manager.textContent('#approved-total'), /150\.00/);
      assert.match(await manager.textContent('#statement'), /工时费按标准 30 元/);
      await manager.screenshot({ path: shot(database, 'statement'), fullPage: true });
      const href = await manager.getAttribute('#statement-csv', 'href');
      const csv = await manager.evaluate(async (u) => (await fetch(u)).text(), href);
      assert.match(csv, /索赔金额/);
      assert.match(csv, /200\.00/);
      assert.match(csv, /150\.00/);
      // Sum up the scorecards now, rather than wait for the five-minute refresh.
      await manager.goto(`${server.url}/scorecards`);
      await manager.click('#score-refresh button');
      await manager.waitForURL(/done=saved/);
      await manager.context().close();
    });

    await t.test("the technician's scorecard shows the visit", async () => {
      const tech = await staffLogin(browser, server, 'partner');
      await tech.goto(`${server.url}/scorecards`);
      // His own card only: the visit on time, the checklist 2 of 3, too few to rate yet.
      const rows = tech.locator('#scorecards tbody tr');
      assert.equal(await rows.count(), 1);
      assert.match(await rows.first().textContent(), /特约师傅阿强/);
      const kept = await tech.textContent('#scorecards td[data-measure="standards_kept"]');
      assert.match(kept, /数据不足（3 件）/);
      const onTime = await tech.textContent('#scorecards td[data-measure="visits_on_time"]');
      assert.match(onTime, /数据不足（1 件）/);
      await tech.screenshot({ path: shot(database, 'scorecards'), fullPage: true });
      await tech.context().close();
    });
  });
}
