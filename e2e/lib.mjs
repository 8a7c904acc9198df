// Helpers for the browser tests (e2e/tests/*.test.mjs).
//
//   const server = await startServer();            // or { database: 'postgres' }
//   const browser = await launchBrowser();
//   ... await page.goto(server.url) ...
//   await browser.close(); await server.stop();
//
// scripts/test sets AFTERCARE_BIN (the built `aftercare` binary) and
// AFTERCARE_TEST_PG_URL (admin URL to the `postgres` database).
//
// Always close browsers and stop servers in `after()`/`finally`, also when a
// test fails: a leaked chromium keeps the test process (and the run) alive.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readdir, readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createConnection, createServer } from 'node:net';
import { chromium } from 'playwright-core';

const execFileP = promisify(execFile);

const STARTUP_TIMEOUT_MS = 120_000;

// Servers still running when the test process exits (e.g. a test failed
// before calling stop()) are killed and their data dirs removed.
const liveChildren = new Map(); // child -> data dir
process.on('exit', () => {
  for (const [c, dir] of liveChildren) {
    try {
      c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
});

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function psql(adminUrl, sql) {
  await execFileP('psql', ['-w', '-X', '-q', '-v', 'ON_ERROR_STOP=1', adminUrl, '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
  });
}

// Replaces the database name in a postgres:// URL.
function withDatabase(adminUrl, dbName) {
  const u = new URL(adminUrl);
  u.pathname = '/' + dbName;
  return u.toString();
}

async function createPgDatabase() {
  const adminUrl = process.env.AFTERCARE_TEST_PG_URL;
  if (!adminUrl) {
    throw new Error(
      'AFTERCARE_TEST_PG_URL is not set: run the browser tests through scripts/test, ' +
        'or set it to an admin URL such as postgres://postgres@127.0.0.1:5432/postgres',
    );
  }
  // The run's tag (scripts/test) first, so the run drops its own databases and no other's.
  const run = /^[a-z0-9]+$/i.test(process.env.AFTERCARE_TEST_RUN ?? '')
    ? `${process.env.AFTERCARE_TEST_RUN.toLowerCase()}_`
    : '';
  const name = `aftercare_test_${run}e2e_${randomBytes(6).toString('hex')}`;
  await psql(adminUrl, `CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    drop: () => psql(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * Starts `aftercare serve --demo` on a free port with a fresh data dir.
 * @param {{ database?: 'sqlite' | 'postgres' }} [options]
 * `email`/`password` are the admin's; `accounts` has every demo account by role (the
 * first of a role) and by the name of its email (`partner`)
 * (admin, manager, agent, technician, marketer, analyst).
 * @returns {Promise<{ url: string, email: string, password: string, accounts: Record<string, {email: string, password: string}>, stop: () => Promise<void> }>}
 */
export async function startServer({ database = 'sqlite', smtpPort = null } = {}) {
  const bin = process.env.AFTERCARE_BIN;
  if (!bin) {
    throw new Error(
      'AFTERCARE_BIN is not set: run the browser tests through scripts/test, ' +
        'or set it to the built binary (e.g. target/debug/aftercare)',
    );
  }
  if (database !== 'sqlite' && database !== 'postgres') {
    throw new Error(`startServer: unknown database ${JSON.stringify(database)}`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'aftercare-e2e-'));
  let pg = null;
  let child = null;
  let output = '';

  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (pg) {
      await pg.drop().catch((e) => console.error(`could not drop test database: ${e.message}`));
      pg = null;
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const args = ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dir];
    const common = ['--data-dir', dir];
    if (database === 'postgres') {
      pg = await createPgDatabase();
      args.push('--database-url', pg.url);
      common.push('--database-url', pg.url);
    }
    if (smtpPort) {
      await writeFile(
        join(dir, 'aftercare.toml'),
        `[smtp]\nhost = "127.0.0.1"\nport = ${smtpPort}\nsecurity = "none"\nfrom = "售后服务 <service@demo.aftercare>"\n`,
      );
    }

    child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.set(child, dir);
    child.once('exit', () => liveChildren.delete(child));
    // A forgotten stop() must not keep the test process alive forever.
    child.unref();
    child.stdout.unref?.();
    child.stderr.unref?.();

    let url = null;
    const accounts = {};
    let email = null;
    let password = null;
    let stdoutBuf = '';
    let ready;
    let failed;
    const found = new Promise((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      stdoutBuf += chunk;
      let nl;
      while ((nl = stdoutBuf.indexOf('\n')) >= 0) {
        const line = stdoutBuf.slice(0, nl).trim();
        stdoutBuf = stdoutBuf.slice(nl + 1);
        const m1 = !url && line.match(/listening on (https?:\/\/\S+)/);
        if (m1) url = m1[1].replace(/\/+$/, '');
        const m2 = line.match(/login:\s*(\S+)\s*\/\s*(\S+)(?:\s*\((\w+)\))?/);
        if (m2) {
          if (!email) {
            email = m2[1];
            password = m2[2];
          }
          // By role (the first account of a role: the demo's own technician before the
          // partner's), and by the email's name (`partner`).
          if (m2[3] && !accounts[m2[3]]) accounts[m2[3]] = { email: m2[1], password: m2[2] };
          accounts[m2[1].split('@')[0]] = { email: m2[1], password: m2[2] };
        }
        if (url && email) ready();
      }
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', (e) => failed(new Error(`could not start ${bin}: ${e.message}`)));
    child.once('exit', (code, signal) =>
      failed(new Error(`server exited during startup (code ${code}, signal ${signal})`)),
    );

    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `server did not print "listening on ..." and "login: ..." within ${STARTUP_TIMEOUT_MS / 1000} s`,
            ),
          ),
        STARTUP_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([found, timeout]);
    } finally {
      clearTimeout(timer);
    }

    // Wait for /healthz.
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let lastError = null;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`server exited before /healthz answered (code ${child.exitCode})`);
      }
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
        if (res.status === 200) break;
        lastError = `status ${res.status}`;
      } catch (e) {
        lastError = e.message;
      }
      if (Date.now() > deadline) {
        throw new Error(`GET ${url}/healthz did not return 200 in time (last: ${lastError})`);
      }
      await sleep(100);
    }

    // Keep draining the pipes so the server never blocks on a full pipe.
    return {
      url,
      email,
      password,
      accounts,
      output: () => output,
      // Runs another `aftercare` command on the same database (e.g. `token create`).
      cli: async (...more) => (await execFileP(bin, [...more, ...common])).stdout,
      stop: cleanup,
    };
  } catch (e) {
    console.error(
      `--- aftercare server output (${bin} ${database}) ---\n${output}\n--- end of server output ---`,
    );
    await cleanup();
    throw e;
  }
}

/**
 * Starts a real SMTP server (aiosmtpd, from the Python environment scripts/test prepares
 * in AFTERCARE_TEST_PYTHON) that keeps what it receives in a maildir.
 * `mails()` returns them decoded: { to, body }.
 */
export async function startSmtpSink() {
  const python = process.env.AFTERCARE_TEST_PYTHON;
  if (!python) {
    throw new Error('AFTERCARE_TEST_PYTHON is not set: run the browser tests through scripts/test');
  }
  const dir = await mkdtemp(join(tmpdir(), 'aftercare-smtp-'));
  // A port the system just handed out, so two runs never pick the same one.
  const port = await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const child = spawn(
    python,
    ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', join(dir, 'maildir')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  liveChildren.set(child, dir);
  child.once('exit', () => liveChildren.delete(child));
  child.unref();
  let log = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (c) => (log += c));
  child.stderr.on('data', (c) => (log += c));
  // Python starts slowly while the other browser tests run beside it.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`aiosmtpd exited (code ${child.exitCode}): ${log}`);
    }
    const ok = await new Promise((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`aiosmtpd did not listen on ${port}: ${log}`);
    await sleep(200);
  }
  const mails = async () => {
    const newDir = join(dir, 'maildir', 'new');
    let names = [];
    try {
      names = (await readdir(newDir)).sort();
    } catch {
      return [];
    }
    const out = [];
    for (const n of names) out.push(decodeMail(await readFile(join(newDir, n), 'latin1')));
    return out;
  };
  return {
    port,
    mails,
    stop: async () => {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// A single-part text mail as lettre writes it: To header, body in base64 or
// quoted-printable, UTF-8.
function decodeMail(raw) {
  const split = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  let body = raw.slice(split).trim();
  const header = (name) => (head.match(new RegExp(`^${name}:\\s*(.*)$`, 'mi')) || [])[1] || '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  let bytes;
  if (encoding === 'base64') {
    bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } else if (encoding === 'quoted-printable') {
    const soft = body.replace(/=\r?\n/g, '');
    const arr = [];
    for (let i = 0; i < soft.length; i++) {
      if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
        arr.push(parseInt(soft.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        arr.push(soft.charCodeAt(i) & 0xff);
      }
    }
    bytes = Buffer.from(arr);
  } else {
    bytes = Buffer.from(body, 'latin1');
  }
  return { to: header('To'), body: bytes.toString('utf8') };
}

/** Launches Debian's headless chromium through playwright-core. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Signs a demo account of `role` in, in 简体中文, and returns its page. */
export async function staffLogin(browser, server, role, viewport) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport });
  const page = await context.newPage();
  const { email, password } = server.accounts[role];
  await page.goto(`${server.url}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

/** Calls the API with a token; fails on an error answer; returns the JSON (null if none). */
export async function api(server, token, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${method} ${path}: ${res.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** Polls `fn` until it returns something truthy, which it returns; fails after the timeout. */
export async function waitFor(what, fn, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
