// Where the harness keeps things. Everything it writes lives under e2e/.tmp (git-ignored).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * E2E_TMP_DIR gives one run of the suite a directory of its own, so two runs at once (each
 * in its own network namespace) do not find each other's emulator.json or instance disks.
 */
export const TMP_DIR = process.env.E2E_TMP_DIR
  ? resolve(process.env.E2E_TMP_DIR)
  : join(REPO_ROOT, 'e2e', '.tmp');
/** Written by global-setup: where the emulator listens, and the PIDs to stop. */
export const EMULATOR_FILE = join(TMP_DIR, 'emulator.json');
/** The hubs' HTTPS certificate (self-signed for *.example.org), trusted by the action in tests. */
export const TLS_CERT = join(TMP_DIR, 'hub-tls.pem');
/** The Let's Encrypt stand-in's authorities (e2e/emulator/acme.ts), made by start-emulator. */
export const ACME_DIR = join(TMP_DIR, 'acme');
/** The stand-in's production root: trusted by the action in tests (its staging root is not). */
export const ACME_PRODUCTION_ROOT = join(ACME_DIR, 'production-root.pem');
export const ACME_STAGING_ROOT = join(ACME_DIR, 'staging-root.pem');
/**
 * What the action trusts beyond Node's own roots (NODE_EXTRA_CA_CERTS): TLS_CERT and the
 * stand-in's production root, one after the other.
 */
export const TRUSTED_CA_BUNDLE = join(TMP_DIR, 'trusted-ca.pem');
/** Node 24 from the `node` npm package: the runtime GitHub's runner uses for `node24`. */
export const NODE24 = join(REPO_ROOT, 'node_modules', '.bin', 'node');

export interface EmulatorInfo {
  /** The front: AWS_ENDPOINT_URL for the action, and the /__emu/ control API. */
  frontUrl: string;
  motoUrl: string;
  /** Port the simulated hubs answer on at their 127.x public IPs. */
  hubPort: number;
  pids: { moto: number; front: number };
}
