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
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
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
  const name = `aftercare_test_e2e_${randomBytes(6).toString('hex')}`;
  await psql(adminUrl, `CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    drop: () => psql(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * Starts `aftercare serve --demo` on a free port with a fresh data dir.
 * @param {{ database?: 'sqlite' | 'postgres' }} [options]
 * `email`/`password` are the admin's; `accounts` has every demo account by role
 * (admin, manager, agent, technician, marketer, analyst).
 * @returns {Promise<{ url: string, email: string, password: string, accounts: Record<string, {email: string, password: string}>, stop: () => Promise<void> }>}
 */
export async function startServer({ database = 'sqlite' } = {}) {
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
    if (database === 'postgres') {
      pg = await createPgDatabase();
      args.push('--database-url', pg.url);
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
          if (m2[3]) accounts[m2[3]] = { email: m2[1], password: m2[2] };
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
