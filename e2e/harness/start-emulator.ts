// Starts the emulator: moto (with loopback public IPs) and the front, waits until both
// answer, writes where they are (and their PIDs) to e2e/.tmp/emulator.json, and exits, leaving
// them running. Run by jest's global setup; also usable by hand:
//   e2e/netns.sh sh -c 'node e2e/harness/start-emulator.ts && ... && node e2e/harness/stop-emulator.ts'
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorityFiles, createAuthorities } from '../emulator/acme.ts';
import { AWS_JOURNAL, clearJournals } from './journal.ts';
import { assertLoopbackOnly } from './namespace.ts';
import {
  ACME_DIR,
  EMULATOR_FILE,
  NODE24,
  REPO_ROOT,
  TLS_CERT,
  TMP_DIR,
  TRUSTED_CA_BUNDLE,
  type EmulatorInfo,
} from './paths.ts';
import { answers, freePort, startDaemon, stopProcess, waitUntil } from './processes.ts';

const START_TIMEOUT_MS = 30_000;
const HUB_PORT = 80;

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * The certificate the hubs' HTTPS side presents for *.example.org (what Let's Encrypt would
 * issue). Self-signed: the action trusts it in the tests through NODE_EXTRA_CA_CERTS.
 */
function makeTlsCertificate(): { cert: string; key: string } {
  const cert = TLS_CERT;
  const key = join(TMP_DIR, 'hub-tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=example.org',
      '-addext',
      'subjectAltName=DNS:example.org,DNS:*.example.org',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

async function main(): Promise<void> {
  assertLoopbackOnly();
  mkdirSync(TMP_DIR, { recursive: true });
  const [motoPort, frontPort] = [await freePort(), await freePort()];
  const motoUrl = `http://127.0.0.1:${motoPort}`;
  const frontUrl = `http://127.0.0.1:${frontPort}`;
  const motoLog = join(TMP_DIR, 'moto.log');
  const frontLog = join(TMP_DIR, 'front.log');

  const moto = startDaemon(
    'python3',
    ['e2e/emulator/moto_loopback.py', '--host', '127.0.0.1', '--port', String(motoPort)],
    motoLog,
    REPO_ROOT,
  );
  const tls = makeTlsCertificate();
  // The Let's Encrypt stand-in's authorities; the action trusts the production one.
  createAuthorities(ACME_DIR);
  writeFileSync(
    TRUSTED_CA_BUNDLE,
    readFileSync(tls.cert, 'utf8') +
      readFileSync(authorityFiles(ACME_DIR, 'production').rootCert, 'utf8'),
  );
  clearJournals();
  const front = startDaemon(
    NODE24,
    [
      'e2e/emulator/front.ts',
      '--port',
      String(frontPort),
      '--moto',
      motoUrl,
      '--tls-cert',
      tls.cert,
      '--tls-key',
      tls.key,
      '--acme-dir',
      ACME_DIR,
      '--state-dir',
      join(TMP_DIR, 'instances'),
      '--journal',
      AWS_JOURNAL,
    ],
    frontLog,
    REPO_ROOT,
  );
  try {
    await waitUntil(
      () => answers(`${motoUrl}/moto-api/`),
      START_TIMEOUT_MS,
      () => `moto did not answer at ${motoUrl} within ${START_TIMEOUT_MS} ms:\n${tail(motoLog)}`,
    );
    await waitUntil(
      () => answers(`${frontUrl}/__emu/health`),
      START_TIMEOUT_MS,
      () =>
        `the front did not answer at ${frontUrl} within ${START_TIMEOUT_MS} ms:\n${tail(frontLog)}`,
    );
    // A fresh account with the README's fixtures (the instance profile tljh-ssm).
    const seeded = await fetch(`${frontUrl}/__emu/reset`, { method: 'POST', body: '{"aws":true}' });
    if (!seeded.ok) throw new Error(`seeding the emulator failed: ${await seeded.text()}`);
  } catch (err) {
    await Promise.all([stopProcess(front), stopProcess(moto)]);
    throw err;
  }
  const info: EmulatorInfo = { frontUrl, motoUrl, hubPort: HUB_PORT, pids: { moto, front } };
  writeFileSync(EMULATOR_FILE, JSON.stringify(info, null, 2) + '\n');
  console.log(`emulator: front ${frontUrl}, moto ${motoUrl} (logs in ${TMP_DIR})`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
