// Whether a hub is healthy: its public URL probed from the runner (an HTTPS hub whose
// certificate is not issued yet is pending, not failed), and the verify script's checks run on
// the instance itself.
import { buildVerifyScript } from './bootstrap.ts';
import { formatDuration } from './clock.ts';
import type { WaitContext } from './context.ts';
import { ActionError } from './errors.ts';
import type { HubSpec } from './inputs/spec.ts';
import { runScript, type SsmWaitContext } from './run-command.ts';
import {
  describeChecks,
  describeProbe,
  evaluateReport,
  parseReport,
  probeHubApi,
  waitForHubApi,
  type Health,
  type ProbeResult,
} from './verify.ts';

/** How long a hub that has just been installed or started gets to answer from the runner. */
export const PUBLIC_PROBE_MS = 3 * 60_000;

/** How long the verify script may run on the instance. */
export const VERIFY_TIMEOUT_MS = 5 * 60_000;

export function hubUrlFor(spec: HubSpec, publicIp: string | undefined): string | undefined {
  if (spec.https) return `https://${spec.https.domain}/`;
  // By its name (the record points at the address), probed at the address like curl --resolve.
  if (spec.dns && publicIp) return `http://${spec.dns.name}/`;
  return publicIp ? `http://${publicIp}/` : undefined;
}

/** What the public URL answered: one line for the job summary, and what it tells of the hub. */
export interface PublicUrlCheck {
  check: string;
  /** The hub's version, when it answered like a live hub. */
  version?: string;
  /** Set when an HTTPS hub is live but its certificate is not issued yet: what is missing. */
  httpsPending?: string;
}

/**
 * Waits up to `timeoutMs` for the hub's public URL to answer like a live hub from the runner.
 * Undefined when the instance has no public IP (a warning); throws an ActionError saying what
 * to open when the hub does not answer.
 */
export async function verifyPublicUrl(
  ctx: WaitContext,
  spec: HubSpec,
  instance: { instanceId: string; publicIp?: string },
  timeoutMs: number,
): Promise<PublicUrlCheck | undefined> {
  const ip = instance.publicIp;
  const url = hubUrlFor(spec, ip);
  if (!url || !ip) {
    ctx.log.warning(
      `${instance.instanceId} has no public IP address: the hub is not reachable from the internet.`,
    );
    return undefined;
  }
  const https = spec.https;
  if (https) {
    ctx.log.info(
      `Waiting up to ${formatDuration(timeoutMs)} for ${url} to present its Let's Encrypt${https.staging ? ' staging' : ''} certificate (issued once ${https.domain} resolves to ${ip})...`,
    );
  }
  const probe = await waitForHubApi(url, {
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs,
    resolveTo: ip,
    staging: https?.staging,
    progress: (line) => ctx.log.info(line),
  });
  const check = `${url}hub/api from the runner: ${describeProbe(probe)}`;
  if (probe.ok) {
    ctx.log.info(`${url}hub/api answers from the runner: ${describeProbe(probe)}`);
    const cert = probe.certificate;
    if (cert) {
      ctx.log.info(
        `Certificate for ${cert.subject} from ${cert.issuer}${cert.validTo ? `, valid until ${cert.validTo}` : ''}${cert.authorized ? '' : ": Let's Encrypt's staging CA, which browsers do not trust (https-staging)"}.`,
      );
    }
    return { check, version: probe.version };
  }
  // The certificate exists only once DNS points at the hub, which the first run cannot know:
  // a live hub behind a certificate not issued yet is a pending step, not a failed install.
  if (https && probe.certificateError && (await probeHubApi(url, 5000, ip, true)).ok) {
    const dns = spec.dns
      ? `${https.domain} points at ${ip} (this run's record, in sync); Let's Encrypt validates over port 443 from the internet, so 'allowed-cidrs' must let it in`
      : `Let's Encrypt issues it once ${https.domain} has a DNS A record for ${ip} and port 443 is reachable from the internet`;
    const httpsPending = `${url} is not ready: the hub is up, but it has no valid certificate for ${https.domain} yet (${describeProbe(probe)}). ${dns}; it is then picked up without another run.`;
    ctx.log.warning(httpsPending);
    return { check, httpsPending };
  }
  throw new ActionError(
    `The hub is healthy on the instance, but ${url}hub/api does not answer from this runner: ${describeProbe(probe)}.`,
    https
      ? `Check that ${https.domain} has a DNS A record for ${ip} (dns-name keeps one; elastic-ip keeps the address across stops), that port 443 is open for Let's Encrypt, and that 'allowed-cidrs' lets this runner in.`
      : "Check that 'allowed-cidrs' (or your security-group-ids) let this runner reach ports 80/443, and that the subnet routes to an internet gateway.",
  );
}

/**
 * The cheap check of a hub verified before: its public URL, probed once (`timeoutMs` 0) or for
 * a while (a hub needs a moment after a start). The probe's answer, or undefined without a
 * public IP; logs what it found.
 */
export async function probePublicUrl(
  ctx: WaitContext,
  spec: HubSpec,
  publicIp: string | undefined,
  timeoutMs: number,
): Promise<ProbeResult | undefined> {
  const url = hubUrlFor(spec, publicIp);
  const probe =
    url && publicIp
      ? await waitForHubApi(url, {
          clock: ctx.clock,
          intervalMs: ctx.pollMs,
          timeoutMs,
          resolveTo: publicIp,
        })
      : undefined;
  if (probe?.ok) {
    ctx.log.info(
      `Hub is healthy: ${url}hub/api answers ${describeProbe(probe)}. Nothing to install.`,
    );
  } else {
    ctx.log.info(
      `${url ?? 'The hub'} does not answer like a live hub (${probe ? describeProbe(probe) : 'no public IP'}); asking the instance.`,
    );
  }
  return probe;
}

/** Runs the verify script on the instance (its agent Online) and judges what it reported. */
export async function verifyOnInstance(
  ctx: SsmWaitContext,
  spec: HubSpec,
  instanceId: string,
  stillThere?: () => Promise<void>,
): Promise<{ health: Health; checks: string[] }> {
  const result = await runScript(
    ctx,
    instanceId,
    buildVerifyScript(spec.https?.domain, spec.https?.staging),
    'tljh-ec2-action: verify TLJH',
    { timeoutMs: VERIFY_TIMEOUT_MS, stillThere },
  );
  const report = parseReport(result.stdout);
  return { health: evaluateReport(report), checks: describeChecks(report) };
}
