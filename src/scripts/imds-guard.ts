// Blocks the instance metadata service (IMDS) for every user on the hub but root (pure: builds
// POSIX sh text, no I/O). IMDSv2 with hop limit 1 stops containers and forwarded packets, not
// local processes: without this, any notebook user could read the instance role's credentials
// at 169.254.169.254. Root keeps IMDS: the SSM agent, the install script and its helper run as
// root. TLJH admins can `sudo`, so they are root and are not (and cannot be) fenced off.
import { MARK, shQuote } from './shell.ts';

/** The boot-time unit that re-applies the rules (netfilter rules do not survive a reboot). */
export const IMDS_GUARD_UNIT = 'tljh-imds-guard.service';
const APPLY_NAME = 'tljh-imds-guard';

export const IMDS_IPV4 = '169.254.169.254/32';
/** IMDS on Nitro instances with the IPv6 endpoint enabled. */
export const IMDS_IPV6 = 'fd00:ec2::254/128';

/**
 * Every uid but root. A positive range rather than `! --uid-owner 0`: the inverted match also
 * catches packets sent from the kernel's own sockets (ICMP errors, the TCP control socket's
 * resets and TIME_WAIT acks). Where those go to the IMDS address, REJECT's "connection refused"
 * becomes a silent time-out (the namespace test sees exactly that with the inverted form), and
 * root's own IMDS connections could lose their closing acks. 4294967295 is (uid_t)-1.
 */
const NON_ROOT_UIDS = '1-4294967294';

/**
 * EC2 Instance Connect's sshd AuthorizedKeysCommand runs as this system user (preinstalled on
 * Ubuntu AMIs) and reads the pushed SSH keys from IMDS. No person can log in as it, so letting it
 * through keeps `aws ec2-instance-connect` working without opening IMDS to hub users.
 */
const EIC_USER = 'ec2-instance-connect';

export interface ImdsGuardOptions {
  /** Exit status when the block cannot be put in place: the install stops (fail closed). */
  exitCode?: number;
  /** Where the boot-time script goes (tests point this at a temporary directory). */
  sbinDir?: string;
  /** Where the unit goes (tests point this at a temporary directory). */
  unitDir?: string;
}

/**
 * The script that applies the rules, idempotently: at install time and at every boot. Each
 * rule is checked with -C before it is inserted; the Instance Connect exception is moved to the
 * top of OUTPUT each time, so it stays ahead of the REJECT whatever order they were added in.
 */
export function imdsGuardApplyScript(): string {
  return `#!/bin/sh
# Written by tljh-ec2-action: blocks the instance metadata service (and so the instance
# role's credentials) for every user but root. Re-applied at boot by ${IMDS_GUARD_UNIT}.
set -u
eic_uid=$(id -u ${EIC_USER} 2>/dev/null || true)
status=0
for family in 4 6; do
  if [ "$family" = 4 ]; then
    cmd=iptables
    imds=${IMDS_IPV4}
  else
    # Without IPv6 in the kernel there is no IPv6 endpoint to block.
    [ -e /proc/net/if_inet6 ] || continue
    cmd=ip6tables
    imds=${IMDS_IPV6}
  fi
  if ! "$cmd" -w 5 -C OUTPUT -d "$imds" -m owner --uid-owner ${NON_ROOT_UIDS} -j REJECT 2>/dev/null; then
    "$cmd" -w 5 -I OUTPUT 1 -d "$imds" -m owner --uid-owner ${NON_ROOT_UIDS} -j REJECT || status=1
  fi
  if [ -n "$eic_uid" ]; then
    while "$cmd" -w 5 -D OUTPUT -d "$imds" -m owner --uid-owner "$eic_uid" -j ACCEPT 2>/dev/null; do :; done
    "$cmd" -w 5 -I OUTPUT 1 -d "$imds" -m owner --uid-owner "$eic_uid" -j ACCEPT || status=1
  fi
done
exit "$status"
`;
}

/** The unit: ordered like netfilter-persistent's, before any network and before the hub. */
export function imdsGuardUnit(applyPath: string): string {
  return `[Unit]
Description=Block the instance metadata service for non-root users (tljh-ec2-action)
DefaultDependencies=no
Wants=network-pre.target systemd-modules-load.service local-fs.target
After=systemd-modules-load.service local-fs.target
Before=network-pre.target network-online.target jupyterhub.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${applyPath}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The install script's step (runs as root): writes the apply script and the unit, applies the
 * rules now, enables the unit for later boots. Prints `::tljh:: imds-guard=ok`, or an
 * `::tljh:: error=...` line and exits with `exitCode`.
 */
export function buildImdsGuard(opts: ImdsGuardOptions = {}): string {
  const exitCode = opts.exitCode ?? 17;
  const sbinDir = opts.sbinDir ?? '/usr/local/sbin';
  const unitDir = opts.unitDir ?? '/etc/systemd/system';
  const apply = `${sbinDir}/${APPLY_NAME}`;
  const unit = `${unitDir}/${IMDS_GUARD_UNIT}`;
  const [qSbin, qUnitDir, qApply, qUnit] = [sbinDir, unitDir, apply, unit].map(shQuote);
  const fail = (why: string) =>
    `echo "${MARK} error=could not block the instance metadata service for non-root users: ${why}"
  exit ${exitCode}`;
  return `echo "${MARK} phase=imds-guard"
if ! command -v iptables >/dev/null 2>&1 || ! command -v ip6tables >/dev/null 2>&1; then
  ${fail('iptables is not installed')}
fi
mkdir -p ${qSbin} ${qUnitDir}
cat >${qApply} <<'TLJH_IMDS_GUARD_EOF'
${imdsGuardApplyScript().trim()}
TLJH_IMDS_GUARD_EOF
cat >${qUnit} <<'TLJH_IMDS_UNIT_EOF'
${imdsGuardUnit(apply).trim()}
TLJH_IMDS_UNIT_EOF
chmod 0755 ${qApply}
chmod 0644 ${qUnit}
if ! ${qApply}; then
  ${fail('iptables refused the rules')}
fi
if ! systemctl daemon-reload || ! systemctl enable ${IMDS_GUARD_UNIT} >/dev/null; then
  ${fail(`could not enable ${IMDS_GUARD_UNIT}`)}
fi
echo "${MARK} imds-guard=ok"`;
}
