// About 320 lines: the install, settings and verify scripts share their prelude and checks, one
// text each, kept side by side so a change to one is seen against the others.
// Builds the shell scripts that SSM Run Command executes on the hub (pure: no AWS, no I/O).
// The SSM agent runs AWS-RunShellScript with `sh` (dash on Ubuntu), so everything here is
// POSIX sh. Every value a user typed is validated in inputs.ts and still single-quoted here.

import { INSTANCE_HELPER } from './instance-helper.ts';
import { buildImdsGuard } from './scripts/imds-guard.ts';
import { MARK, shQuote } from './scripts/shell.ts';

export { MARK, shQuote };

const HELPER_NAME = 'tljh-action-helper.py';

/**
 * The install script's exit codes, each naming the step that failed (10-19 are the steps before
 * and after the installer, see the script). None is 137 or 194, which the agent reads as
 * "timed out" and "reboot requested".
 */
export const EXIT_CODES = {
  dpkgLock: 10,
  download: 11,
  settings: 12,
  reload: 13,
  reloadProxy: 14,
  readSettings: 15,
  busy: 16,
  imdsGuard: 17,
  firstBoot: 18,
  installer: 20,
} as const;

export interface InstallOptions {
  tljhVersion: string;
  adminUser: string;
  region: string;
  /** SecureString parameter holding {adminPassword?, settings: [key, value][]}, if any. */
  settingsParameter?: string;
  plugins?: string[];
  userRequirementsUrl?: string;
  /** With HTTPS on, the verification also asks /hub/api over TLS for this name. */
  httpsDomain?: string;
  /** Let's Encrypt's staging CA (https-staging): its certificate is judged from the runner. */
  httpsStaging?: boolean;
  /** Seconds to wait for another install of this action on the same instance to finish. */
  lockWaitSeconds?: number;
  /** Seconds to wait for another apt/dpkg process (cloud-init, unattended-upgrades) to finish. */
  dpkgLockTimeoutSeconds?: number;
}

export function bootstrapUrl(tljhVersion: string): string {
  return `https://raw.githubusercontent.com/jupyterhub/the-littlest-jupyterhub/${tljhVersion}/bootstrap/bootstrap.py`;
}

// Checks shared by the install script and the stand-alone verify script. They print one
// `::tljh:: key=value` line per check; parseReport() in verify.ts reads them back. `redact`
// filters the log tail (the install script knows the secrets to hide; the verify script has none).
//
// With HTTPS on, TLJH's traefik redirects plain HTTP to HTTPS (traefik.toml.tpl's
// entryPoints.http.http.redirections), so the hub is asked over TLS on the instance itself,
// with its own name pinned to 127.0.0.1 and `-k`: the certificate exists only once DNS points
// at the hub, which is judged apart (https-cert) and never fails the install.
function verifyBlock(httpsDomain?: string, redact = 'cat', staging = false): string {
  // A staging certificate's root is in no trust store, the instance's neither: the runner
  // judges it (src/certificate.ts), knowing to expect the staging CA.
  const certCheck = staging
    ? `echo "${MARK} https-cert=staging CA, checked from the runner"`
    : `if curl -sS --max-time 10 -o /dev/null --resolve ${shQuote(`${httpsDomain}:443:127.0.0.1`)} "$api_url" 2>/dev/null; then
  echo "${MARK} https-cert=valid"
else
  echo "${MARK} https-cert=not-yet"
fi`;
  const api = httpsDomain
    ? `api_url=${shQuote(`https://${httpsDomain}/hub/api`)}
api_opts="-k --resolve ${shQuote(`${httpsDomain}:443:127.0.0.1`).slice(1, -1)}"
http_status=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://127.0.0.1/hub/api 2>/dev/null || true)
echo "${MARK} http-status=$http_status"
${certCheck}`
    : `api_url='http://127.0.0.1/hub/api'
api_opts=''`;
  // Stamped with the instance's own clock (ms): the job summary's verification time.
  return `
echo "${MARK} verify-started=$(date +%s%3N)"
last_line=$(tail -n 1 /opt/tljh/installer.log 2>/dev/null || true)
case "$last_line" in
  *' Done!') echo "${MARK} installer-log=done" ;;
  '') echo "${MARK} installer-log=missing" ;;
  *) echo "${MARK} installer-log=incomplete" ;;
esac
for unit in jupyterhub traefik; do
  echo "${MARK} service-$unit=$(systemctl is-active "$unit" 2>/dev/null || true)"
done
${api}
# shellcheck disable=SC2086 # api_opts is a list of options
api=$(curl -sS --max-time 10 $api_opts -o - -w '\\n%{http_code}' "$api_url" 2>/dev/null || true)
echo "${MARK} api-status=$(printf '%s' "$api" | tail -n 1)"
echo "${MARK} api-body=$(printf '%s' "$api" | head -n 1 | tr -d '\\r' | cut -c1-300)"
${userServerProbe()}
echo "${MARK} log-tail-begin"
tail -n 15 /opt/tljh/installer.log 2>/dev/null | ${redact} | cut -c1-300 || true
echo "${MARK} log-tail-end"
echo "${MARK} verify-ended=$(date +%s%3N)"`.trim();
}

/** The user name of the throwaway account the user-server check runs as. */
export const PROBE_USER = 'jupyter-tljh-action-probe';

// The hub answers /hub/api as root even when no user can run the user environment (a
// root-only /opt/tljh/user, say), so the check that counts starts a Jupyter server from the
// user environment the way a spawned server runs: as an unprivileged jupyter-* account, with
// the files' own modes deciding. The account and its home are removed again either way.
function userServerProbe(): string {
  return `
probe_user=${PROBE_USER}
probe_status=not-run
if [ -e /opt/tljh/user ]; then
  userdel -r "$probe_user" >/dev/null 2>&1 || true
  if useradd --create-home --shell /bin/sh "$probe_user" >/dev/null 2>&1; then
    probe_home=$(getent passwd "$probe_user" | cut -d: -f6)
    probe_port=$(shuf -i 20000-29999 -n 1)
    probe_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')
    runuser -u "$probe_user" -- env HOME="$probe_home" JUPYTER_TOKEN="$probe_token" \\
      /opt/tljh/user/bin/python3 -m jupyter_server --ServerApp.ip=127.0.0.1 \\
      --ServerApp.port="$probe_port" --ServerApp.port_retries=0 --ServerApp.open_browser=False \\
      --ServerApp.root_dir="$probe_home" >"$probe_home/.probe.log" 2>&1 9>&- &
    probe_pid=$!
    probe_status=no-answer
    tries=0
    while [ "$tries" -lt 60 ]; do
      if curl -fsS --max-time 5 -o /dev/null -H "Authorization: token $probe_token" "http://127.0.0.1:$probe_port/api/status" 2>/dev/null; then
        probe_status=ok
        break
      fi
      kill -0 "$probe_pid" 2>/dev/null || { probe_status=exited; break; }
      tries=$((tries + 1))
      sleep 1
    done
    if [ "$probe_status" != ok ]; then
      echo "${MARK} user-server-log-begin"
      tail -n 8 "$probe_home/.probe.log" 2>/dev/null | cut -c1-300
      echo "${MARK} user-server-log-end"
    fi
    kill "$probe_pid" 2>/dev/null || true
    wait "$probe_pid" 2>/dev/null || true
    userdel -r -f "$probe_user" >/dev/null 2>&1 || true
  else
    probe_status=no-account
  fi
fi
echo "${MARK} user-server=$probe_status"`.trim();
}

interface PreludeOptions {
  region: string;
  settingsParameter?: string;
  lockWaitSeconds?: number;
}

/**
 * What every script that changes the hub starts with: the helper, one change at a time on the
 * instance, the IMDS guard, and the settings read from their SecureString parameter into a
 * root-only file.
 */
function prelude(what: string, opts: PreludeOptions): string {
  const helper = `"$work_dir/${HELPER_NAME}"`;
  const readSettings = opts.settingsParameter
    ? `echo "${MARK} phase=settings"
if ! (umask 077 && python3 ${helper} read ${shQuote(opts.settingsParameter)} ${shQuote(opts.region)} >"$settings"); then
  echo "${MARK} error=could not read the settings parameter (does the instance role allow ssm:GetParameter and kms:Decrypt?)"
  exit ${EXIT_CODES.readSettings}
fi
admin_password=$(python3 ${helper} field "$settings" adminPassword)`
    : `admin_password=''`;
  return `#!/bin/sh
# Generated by tljh-ec2-action: ${what}
set -u
# The installer inherits this umask, and TLJH never widens modes (it only runs chmod -R o-w):
# a stricter one leaves /opt/tljh/user unreadable to the jupyter-* users. Only the secret files
# below are created under 077 (mktemp -d makes a 0700 directory).
umask 022
work_dir=$(mktemp -d)
settings="$work_dir/settings.json"
(umask 077 && echo '{}' >"$settings")
trap 'rm -rf "$work_dir"' EXIT
cat >"$work_dir/${HELPER_NAME}" <<'TLJH_HELPER_EOF'
${INSTANCE_HELPER.trim()}
TLJH_HELPER_EOF

# One change at a time on this instance: a run that lost a launch race, or a re-run after a
# cancelled one, waits for the install already under way instead of interleaving with it.
exec 9>/opt/.tljh-ec2-action.lock
if ! flock -w ${opts.lockWaitSeconds ?? 1800} 9; then
  echo "${MARK} error=another install is still running on this instance"
  exit ${EXIT_CODES.busy}
fi

# Before any secret reaches the instance: no user but root may ask IMDS for the instance
# role's credentials (which can read SSM parameters), now and after every reboot.
${buildImdsGuard({ exitCode: EXIT_CODES.imdsGuard }).trim()}

${readSettings}`;
}

/**
 * TLJH's progress page (`bootstrap.py --show-progress-page`, as the seed guide runs it): a
 * server on port 80, forked by bootstrap.py (multiprocessing, not a daemon), that shows
 * installer.log until tljh.installer stops it (SIGINT) just before traefik starts. Only on a
 * cold install, which is what bootstrap.py itself calls initial_setup (no hub environment yet):
 * on an installed hub traefik holds port 80 and bootstrap.py ignores the bind error. Only if
 * this ref's bootstrap.py has the flag: every TLJH release does (0.2.0, the first, on; added in
 * August 2020), and a ref without it lacks --version too.
 *
 * A failed install leaves the server running: bootstrap.py failing before it hands over to the
 * installer (apt, venv, pip) then waits at exit for it forever (multiprocessing joins its
 * children), and a failed installer leaves it orphaned on port 80, which traefik needs. So the
 * script stops it as the installer would: once a traceback shows the run has failed, and after
 * the run. It is found by its command line, that of bootstrap.py in this script's directory.
 */
function progressPageBlock(): string {
  return `progress_page=''
if [ ! -e /opt/tljh/hub/bin/python3 ] && grep -q -e '--show-progress-page' "$work_dir/bootstrap.py"; then
  progress_page=yes
fi
echo "${MARK} progress-page=\${progress_page:-no}"
stop_progress_page() { # all but bootstrap.py itself: this shell's child
  for proc in /proc/[0-9]*; do
    case "$(tr '\\0' ' ' <"$proc/cmdline" 2>/dev/null)" in
      *"$work_dir/bootstrap.py "*)
        parent=$(sed -n 's/^PPid:[[:space:]]*//p' "$proc/status" 2>/dev/null)
        [ "$parent" = "$$" ] || kill -INT "\${proc#/proc/}" 2>/dev/null ;;
    esac
  done
}
watch_progress_page() {
  while kill -0 "$$" 2>/dev/null; do
    if grep -q 'Traceback (most recent call last):' "$work_dir/installer.out" 2>/dev/null; then
      sleep 2 # its last lines
      stop_progress_page
      return
    fi
    sleep 2
  done
}`;
}

/**
 * Installs (or upgrades in place: TLJH's installer is safe to re-run), applies the settings,
 * then verifies. Secrets never appear in this text: only the name of the SecureString
 * parameter that holds them, which the instance reads with its own role.
 */
export function buildInstallScript(opts: InstallOptions): string {
  const lockPolls = Math.ceil((opts.dpkgLockTimeoutSeconds ?? 600) / 5);
  // TLJH's installer declares --plugin with nargs="*" and no action="append": a repeated
  // --plugin keeps only the last one, so every plugin goes after a single flag.
  const plugins = opts.plugins ?? [];
  const extraFlags = [
    ...(plugins.length ? [`--plugin ${plugins.map(shQuote).join(' ')}`] : []),
    ...(opts.userRequirementsUrl
      ? [`--user-requirements-txt-url ${shQuote(opts.userRequirementsUrl)}`]
      : []),
  ].join(' ');
  const helper = `"$work_dir/${HELPER_NAME}"`;
  return `${prelude('install The Littlest JupyterHub, then verify it.', opts)}
tljh_version=${shQuote(opts.tljhVersion)}
admin_user=${shQuote(opts.adminUser)}
bootstrap_url=${shQuote(bootstrapUrl(opts.tljhVersion))}

echo "${MARK} phase=cloud-init"
# cloud-init may still be installing packages on a fresh instance; its exit code only
# reports a degraded (not a failed) boot, so the outcome is logged and not fatal.
cloud_init_status=$(cloud-init status --wait 2>/dev/null | tail -n 1 || true)
echo "${MARK} cloud-init=$cloud_init_status"

echo "${MARK} phase=dpkg-lock"
polls=0
while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
  polls=$((polls + 1))
  if [ "$polls" -gt ${lockPolls} ]; then
    echo "${MARK} error=another process held the dpkg lock for too long"
    exit ${EXIT_CODES.dpkgLock}
  fi
  sleep 5
done

if [ -n "$admin_password" ]; then
  admin_flag="$admin_user:$admin_password"
else
  admin_flag="$admin_user"
fi
# Every installer run overwrites users.admin with the --admin users of that run (TLJH's
# ensure_admins), so an upgrade or repair passes on the admins the hub already has.
set -- "$admin_flag"
if [ -r /opt/tljh/config/config.yaml ] && [ -x /opt/tljh/hub/bin/python3 ]; then
  set -f # names are words, never globs
  for name in $(/opt/tljh/hub/bin/python3 ${helper} admins /opt/tljh/config/config.yaml 2>/dev/null); do
    case "$name" in
      "$admin_user") ;;
      *[!a-zA-Z0-9._-]* | -*) echo "${MARK} kept-admin-skipped=$name" ;;
      *) set -- "$@" "$name" ;;
    esac
  done
  set +f
fi
echo "${MARK} admins=$(( $# ))"

echo "${MARK} phase=download"
if ! curl -fsSL --retry 5 --retry-delay 3 --max-time 120 -o "$work_dir/bootstrap.py" "$bootstrap_url"; then
  echo "${MARK} error=could not download $bootstrap_url (does the instance have outbound HTTPS?)"
  exit ${EXIT_CODES.download}
fi

echo "${MARK} phase=install"
${progressPageBlock()}
watch_pid=''
if [ -n "$progress_page" ]; then
  watch_progress_page >/dev/null 2>&1 9>&- &
  watch_pid=$!
fi
# In the foreground: an asynchronous command starts with SIGINT ignored, and so would the page
# server, which the installer stops with SIGINT. From /: the page server serves its page and
# icon (/var/run/index.html, /var/run/favicon.ico) from paths relative to its working
# directory (SimpleHTTPRequestHandler), and the SSM agent's is its own. Without the lock
# (fd 9): nothing the installer leaves running may hold it.
(cd / && exec python3 "$work_dir/bootstrap.py" \${progress_page:+--show-progress-page} --version "$tljh_version" --admin "$@"${extraFlags ? ` ${extraFlags}` : ''}) >"$work_dir/installer.out" 2>&1 9>&-
installer_exit=$?
if [ -n "$watch_pid" ]; then
  kill "$watch_pid" 2>/dev/null
  wait "$watch_pid" 2>/dev/null
  stop_progress_page
fi
echo "${MARK} installer-exit=$installer_exit"
echo "${MARK} installer-output-begin"
tail -n 40 "$work_dir/installer.out" | python3 ${helper} redact "$settings" | cut -c1-300
echo "${MARK} installer-output-end"

settings_exit=0
if [ "$installer_exit" -eq 0 ]; then
  echo "${MARK} phase=configure"
  python3 ${helper} apply "$settings" "$admin_user"
  settings_exit=$?
fi

echo "${MARK} phase=verify"
${verifyBlock(opts.httpsDomain, `python3 ${helper} redact "$settings"`, opts.httpsStaging)}
# The installer's own status is reported above (installer-exit); the script's exit code says
# which step failed, never passed through raw: the SSM agent reads 137 as a time-out and 194
# as a reboot request.
if [ "$installer_exit" -ne 0 ]; then
  exit ${EXIT_CODES.installer}
fi
exit "$settings_exit"
`;
}

export interface SettingsOptions extends PreludeOptions {
  adminUser: string;
  httpsDomain?: string;
  httpsStaging?: boolean;
  /**
   * The hub's first boot from a baked image (image-cache): TLJH's own set-up steps make the
   * hub's secrets and start it before the settings are applied.
   */
  firstBoot?: boolean;
}

/**
 * A hub from a baked image has TLJH installed but nothing of a hub (scripts/generalize.ts):
 * TLJH's own installer functions, without the installer run (no download, no pip), make a new
 * config.yaml with the plugins' defaults (ensure_config_yaml), the user groups, a new proxy
 * API secret with the traefik configuration and the services, enabled and started
 * (ensure_jupyterhub_service), and wait for the hub (ensure_jupyterhub_running). JupyterHub
 * makes a new cookie secret and database when it starts without them.
 */
function firstBootBlock(): string {
  return `echo "${MARK} phase=first-boot"
if ! /opt/tljh/hub/bin/python3 - >"$work_dir/first-boot.out" 2>&1 <<'TLJH_FIRST_BOOT'
from tljh import installer
plugins = installer.setup_plugins()
installer.ensure_config_yaml(plugins)
installer.ensure_usergroups()
installer.ensure_jupyterhub_service(installer.HUB_ENV_PREFIX)
installer.ensure_jupyterhub_running()
TLJH_FIRST_BOOT
then
  echo "${MARK} error=TLJH's first-boot set-up failed on the image's hub"
  echo "${MARK} installer-output-begin"
  tail -n 40 "$work_dir/first-boot.out" | cut -c1-300
  echo "${MARK} installer-output-end"
  exit ${EXIT_CODES.firstBoot}
fi
`;
}

/**
 * Applies the settings to an installed hub without running the installer: tljh-config set and
 * unset, the admins, the admin password, then the reloads TLJH needs; then verifies the hub.
 * On a hub's first boot from a baked image, its own secrets are made first (firstBootBlock).
 */
export function buildSettingsScript(opts: SettingsOptions): string {
  const helper = `"$work_dir/${HELPER_NAME}"`;
  const what = opts.firstBoot
    ? 'first boot of a hub from a baked image: its own secrets, its settings, then verify it.'
    : 'apply the settings of The Littlest JupyterHub, then verify it.';
  return `${prelude(what, opts)}
if ! command -v tljh-config >/dev/null 2>&1; then
  echo "${MARK} error=TLJH is not installed on this instance (no tljh-config)"
  exit ${EXIT_CODES.settings}
fi
${opts.firstBoot ? firstBootBlock() : ''}echo "${MARK} phase=configure"
python3 ${helper} apply "$settings" ${shQuote(opts.adminUser)} --whole
settings_exit=$?

echo "${MARK} phase=verify"
${verifyBlock(opts.httpsDomain, `python3 ${helper} redact "$settings"`, opts.httpsStaging)}
exit "$settings_exit"
`;
}

/** Reads the hub's health without changing anything. */
export function buildVerifyScript(httpsDomain?: string, httpsStaging = false): string {
  return `#!/bin/sh
# Generated by tljh-ec2-action: report the health of The Littlest JupyterHub.
set -u
echo "${MARK} phase=verify"
${verifyBlock(httpsDomain, 'cat', httpsStaging)}
exit 0
`;
}
