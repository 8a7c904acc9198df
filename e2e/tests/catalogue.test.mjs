// Managing the catalogue from the products page: a warranty policy, a category that uses
// it and a product in it, with a wrong price refused beside a clear message first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from '../lib.mjs';

test('catalogue forms create a policy, a category and a product', { timeout: 180_000 }, async (t) => {
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.stop();
  });
  const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
  await page.goto(`${server.url}/login`);
  await page.fill('#email', server.email);
  await page.fill('#password', server.password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.goto(`${server.url}/products`);

  await page.fill('#new-policy input[name="name"]', 'E2E extended warranty');
  await page.fill('#new-policy input[name="repair_months"]', '36');
  await page.click('#new-policy button');
  await page.waitForURL('**/products');
  assert.match(await page.textContent('main'), /E2E extended warranty/);

  await page.fill('#new-category input[name="name"]', '净水器');
  await page.selectOption('#new-category select[name="policy_id"]', { label: 'E2E extended warranty' });
  await page.click('#new-category button');
  await page.waitForURL('**/products');

  await page.fill('#new-product input[name="sku"]', 'WP-E2E-1');
  await page.fill('#new-product input[name="name"]', '反渗透净水器 E2E');
  await page.selectOption('#new-product select[name="category_id"]', { label: '净水器' });
  await page.fill('#new-product input[name="price"]', '12.345');
  await page.click('#new-product button');
  const alert = page.locator('.flash.bad');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Price: must be an amount like 3999.00/);

  await page.fill('#new-product input[name="sku"]', 'WP-E2E-1');
  await page.fill('#new-product input[name="name"]', '反渗透净水器 E2E');
  await page.selectOption('#new-product select[name="category_id"]', { label: '净水器' });
  await page.fill('#new-product input[name="price"]', '2999');
  await page.click('#new-product button');
  await page.waitForURL('**/products');
  await page.fill('#q', 'WP-E2E');
  await page.click('form.toolbar button');
  const row = page.locator('tbody tr', { hasText: 'WP-E2E-1' }).first();
  await row.waitFor();
  assert.match(await row.textContent(), /2,999\.00/);
  assert.match(await row.textContent(), /repair 36 months/);

  // Staff accounts: a short password is refused with the field named, then the account is made.
  await page.goto(`${server.url}/users`);
  await page.fill('#new-user input[name="email"]', 'wang.tech@example.cn');
  await page.fill('#new-user input[name="name"]', '王技师');
  await page.selectOption('#new-user select[name="role"]', 'technician');
  await page.fill('#new-user input[name="password"]', 'short');
  await page.click('#new-user button');
  await page.locator('.flash.bad').waitFor();
  assert.match(await page.textContent('.flash.bad'), /Initial password: must have at least 8 characters/);
  await page.fill('#new-user input[name="password"]', 'long enough password');
  await page.click('#new-user button');
  await page.waitForURL('**/users');
  const staff = page.locator('tbody tr', { hasText: 'wang.tech@example.cn' });
  await staff.waitFor();
  assert.match(await staff.textContent(), /Technician/);

  // Deactivating the account from the Staff page, then activating it again.
  await page.click('tr[data-email="wang.tech@example.cn"] button');
  await page.waitForURL('**/users');
  assert.match(await page.textContent('tr[data-email="wang.tech@example.cn"]'), /Inactive/);
  await page.click('tr[data-email="wang.tech@example.cn"] button');
  await page.waitForURL('**/users');
  assert.match(await page.textContent('tr[data-email="wang.tech@example.cn"]'), /Deactivate/);
  // An administrator cannot lock themself out.
  await page.click(`tr[data-email="${server.email}"] button`);
  await page.locator('.flash.bad').waitFor();
  assert.match(await page.textContent('.flash.bad'), /cannot deactivate your own account/);
});
