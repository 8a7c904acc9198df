// A customer on a phone (390 × 844, 简体中文): signs up, forgets the password and sets a new
// one from the link mailed through a real SMTP server, then asks for service with a photo;
// a file that only pretends to be a photo is refused. An administrator imports customers
// from a CSV saved by Chinese Excel (GBK).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, startSmtpSink, launchBrowser, waitFor } from '../lib.mjs';

const shots = process.env.AFTERCARE_SCREENSHOTS || new URL('../test-results/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

// The smallest PNG there is: a 1 × 1 transparent pixel.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

test('the portal on a phone, and a GBK import', { timeout: 240_000 }, async (t) => {
  const smtp = await startSmtpSink();
  const server = await startServer({ database: 'sqlite', smtpPort: smtp.port });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.stop();
    await smtp.stop();
  });
  const email = `zhaomin${Date.now() % 1_000_000}@example.cn`;
  const phone = await (await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } })).newPage();

  await t.test('a customer signs up from the mailed link', async () => {
    await phone.goto(`${server.url}/portal/signup`);
    await phone.fill('#name', '赵敏');
    await phone.fill('#email', email);
    await phone.fill('#password', 'correct horse battery');
    await phone.click('form button');
    await phone.locator('#signup-sent').waitFor();
    const mail = await waitFor('the sign-up mail', async () => (await smtp.mails()).find((m) => m.to.includes(email)));
    await phone.goto(mail.body.match(/https?:\/\/\S+\/portal\/confirm\?token=\S+/)[0]);
    await phone.click('#confirm-form button');
    await phone.waitForURL(/\/portal$/);
  });

  await t.test('a forgotten password is set again from a mailed, expiring link', async () => {
    await phone.context().clearCookies();
    await phone.goto(`${server.url}/portal/login`);
    await phone.click('a[href="/portal/forgot"]');
    await phone.fill('#email', email);
    await phone.click('form button');
    const mail = await waitFor('the reset mail', async () =>
      (await smtp.mails()).find((m) => m.to.includes(email) && /\/portal\/reset\?token=/.test(m.body)),
    );
    assert.match(mail.body, /60/);
    await phone.goto(mail.body.match(/https?:\/\/\S+\/portal\/reset\?token=\S+/)[0]);
    await phone.fill('#password', 'a new and longer secret');
    await phone.fill('#password_again', 'a new and longer secret');
    await phone.click('form button');
    await phone.waitForURL(/\/portal$/);
    await phone.context().clearCookies();
    await phone.goto(`${server.url}/portal/login`);
    await phone.fill('#email', email);
    await phone.fill('#password', 'a new and longer secret');
    await phone.click('form button');
    await phone.waitForURL(/\/portal$/);
  });

  await t.test('asks for service with a photo; a fake photo is refused', async () => {
    await phone.goto(`${server.url}/portal/requests/new`);
    await phone.selectOption('#service_type', 'repair');
    await phone.fill('#subject', '热水器漏水');
    await phone.fill('#description', '底部一直滴水，见照片');
    await phone.setInputFiles('#request-files', { name: '漏水.png', mimeType: 'image/png', buffer: PNG });
    await phone.click('#request-form button');
    await phone.waitForURL(/\/portal\/requests\/\d+$/);
    const link = phone.locator('#messages a', { hasText: '漏水.png' });
    await link.waitFor();
    assert.match(await link.getAttribute('href'), /^\/portal\/attachments\/\d+$/);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    await phone.screenshot({ path: `${shots}/portal-photo.png`, fullPage: true });
    await phone.fill('#portal-message textarea[name=body]', '再补一张');
    await phone.setInputFiles('#message-files', { name: '照片.png', mimeType: 'image/png', buffer: Buffer.from('MZ\x90\x00') });
    await phone.click('#portal-message button');
    await phone.locator('.flash.bad').waitFor();
    assert.match(await phone.textContent('.flash.bad'), /照片\.png|文件|附件/);
    assert.equal(await phone.locator('#messages a', { hasText: '照片.png' }).count(), 0);
  });

  await t.test('an administrator imports customers from a GBK CSV', async () => {
    const admin = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
    await admin.goto(`${server.url}/login`);
    await admin.fill('#email', server.email);
    await admin.fill('#password', server.password);
    await admin.click('button[type=submit]');
    await admin.waitForURL((u) => !u.pathname.startsWith('/login'));
    await admin.goto(`${server.url}/import`);
    // 郭靖 and 黄蓉 as Chinese Excel saves them: GBK, no byte-order mark.
    const gbk = (hex) => Buffer.from(hex, 'hex');
    const csv = Buffer.concat([
      Buffer.from('name,phone,city\r\n'),
      gbk('b9f9beb8'), Buffer.from(',13700001111,'), gbk('c9cfbaa3'), Buffer.from('\r\n'),
      gbk('bbc6c8d8'), Buffer.from(',13700002222,'), gbk('c9cfbaa3'), Buffer.from('\r\n'),
    ]);
    await admin.selectOption('#kind', 'customers');
    await admin.setInputFiles('#file', { name: '客户.csv', mimeType: 'text/csv', buffer: csv });
    await admin.uncheck('input[name=dry_run]');
    await admin.click('form.card button');
    await admin.locator('#import-plan').waitFor();
    const plan = await admin.textContent('#import-plan');
    assert.match(plan, /郭靖/);
    assert.match(plan, /黄蓉/);
    await admin.goto(`${server.url}/customers?q=${encodeURIComponent('黄蓉')}`);
    assert.match(await admin.textContent('main'), /黄蓉/);
  });
});
