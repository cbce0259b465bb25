// The steps of an ImageTemplate build, as shell run as root inside an instance made from the
// base image: Debian packages, npm packages, the setup script, the clean-up before publishing.
// Each failure is an ImageBuildError naming the step and, where the tools' words tell, the
// package or the script line. Runtime-neutral: the driver hands in how to run a script.
import { ImageBuildError, type BuildImageRequest, type BuildReport, type ExecResult } from './types.js';

/** Where the host's CA bundle and the setup script are put for the build: /run is a tmpfs, never in the image. */
export const BUILD_CA_PATH = '/run/tidepool-build-ca.crt';
export const BUILD_SETUP_PATH = '/run/tidepool-setup.sh';

export interface BuildShell {
  /** Runs `script` with bash as root; its output goes to the build log. */
  run(script: string, opts?: { env?: Record<string, string>; timeoutSeconds?: number }): Promise<ExecResult>;
  /** Writes a file into the build instance. */
  push(path: string, content: string | Buffer, mode?: string): Promise<void>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const lastLines = (r: ExecResult, n = 6) =>
  `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' };

/** Waits (60 s at most) for systemd to finish booting and for a default route. */
export async function waitForNetwork(sh: BuildShell): Promise<void> {
  const script =
    'for i in $(seq 600); do s="$(systemctl is-system-running 2>/dev/null || true)"; ' +
    'case "$s" in running|degraded) ip -4 route | grep -q ^default && exit 0;; esac; sleep 0.1; done; exit 1';
  const r = await sh.run(script, { timeoutSeconds: 90 });
  if (r.exitCode !== 0)
    throw new ImageBuildError('the build instance did not boot with a network in 60 s', 'base', undefined);
}

/** The first package apt does not know, from apt's own words. */
export function failedDebianPackage(output: string, wanted: readonly string[]): string | undefined {
  const m =
    /Unable to locate package (\S+)/.exec(output) ??
    /Package '?([^'\s]+)'? has no installation candidate/.exec(output) ??
    /Version '[^']+' for '([^']+)' was not found/.exec(output) ??
    /E: Package '([^']+)'/.exec(output);
  const hit = m?.[1];
  return hit ? (wanted.find((p) => p === hit || p.startsWith(`${hit}=`)) ?? hit) : undefined;
}

export async function installDebianPackages(
  sh: BuildShell,
  pkgs: readonly string[],
  report: BuildReport,
): Promise<void> {
  if (!pkgs.length) return;
  report.progress('debianPackages', `Debian packages: apt-get update`);
  const update = await sh.run('apt-get update --error-on=any', { env: APT_ENV, timeoutSeconds: 600 });
  if (update.exitCode !== 0)
    throw new ImageBuildError(`apt-get update failed: ${lastLines(update)}`, 'debianPackages', undefined);
  report.progress('debianPackages', `Debian packages (${pkgs.length}): ${pkgs.join(' ')}`);
  const install = await sh.run(
    `apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold ${pkgs.map(quote).join(' ')}`,
    { env: APT_ENV, timeoutSeconds: 1800 },
  );
  if (install.exitCode !== 0) {
    const pkg = failedDebianPackage(`${install.stdout}\n${install.stderr}`, pkgs);
    throw new ImageBuildError(
      `apt-get install failed${pkg ? ` on package "${pkg}"` : ''}: ${lastLines(install)}`,
      'debianPackages',
      pkg,
    );
  }
  await sh.run('apt-get clean; rm -rf /var/lib/apt/lists/*', { env: APT_ENV });
}

/** npm packages one at a time, so that a failure names its package; the host's CA is handed to npm for the build only. */
export async function installNpmPackages(
  sh: BuildShell,
  pkgs: readonly string[],
  ca: Buffer | undefined,
  report: BuildReport,
): Promise<void> {
  if (!pkgs.length) return;
  if (ca) await sh.push(BUILD_CA_PATH, ca);
  const env: Record<string, string> = {
    HOME: '/root',
    npm_config_nodedir: '/usr/local',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...(ca ? { npm_config_cafile: BUILD_CA_PATH, NODE_EXTRA_CA_CERTS: BUILD_CA_PATH } : {}),
  };
  for (const [i, pkg] of pkgs.entries()) {
    report.progress('npmPackages', `npm packages (${i + 1}/${pkgs.length}: ${pkg})`);
    const r = await sh.run(`PATH=/usr/local/bin:$PATH npm install -g --loglevel=warn ${quote(pkg)}`, {
      env,
      timeoutSeconds: 1800,
    });
    if (r.exitCode !== 0)
      throw new ImageBuildError(`npm install -g ${pkg} failed: ${lastLines(r)}`, 'npmPackages', pkg);
  }
  await sh.run('rm -rf /root/.npm /root/.cache/node-gyp');
}

/** Printed on stderr by the wrapper when a line of the setup script fails. */
const SETUP_FAILED = 'tidepool-setup-failed';

/** `line N: COMMAND` of the failing setup line, from the wrapper's marker. */
export function failedSetupLine(stderr: string, script: string): string | undefined {
  const m = new RegExp(`${SETUP_FAILED} line=(\\d+) status=(\\d+)`).exec(stderr);
  if (!m) return undefined;
  const n = Number(m[1]);
  const text = script.split('\n')[n - 1]?.trim() ?? '';
  return `line ${n}: ${text}`.trim();
}

/** What tools that fetch over TLS read to trust the host's CA bundle (for the build only). */
export const CA_ENV = (path: string): Record<string, string> => ({
  SSL_CERT_FILE: path,
  CURL_CA_BUNDLE: path,
  REQUESTS_CA_BUNDLE: path,
  PIP_CERT: path,
  GIT_SSL_CAINFO: path,
  NODE_EXTRA_CA_CERTS: path,
  npm_config_cafile: path,
});

/** The setup script as root with bash `set -eE -o pipefail`; a failing line is named. */
export async function runSetup(
  sh: BuildShell,
  script: string | undefined,
  ca: Buffer | undefined,
  report: BuildReport,
): Promise<void> {
  if (!script?.trim()) return;
  report.progress('setup', 'setup script');
  await sh.push(BUILD_SETUP_PATH, script, '0600');
  if (ca) await sh.push(BUILD_CA_PATH, ca);
  const wrapper =
    `trap 'echo "${SETUP_FAILED} line=$LINENO status=$?" >&2' ERR; set -eE -o pipefail; ` +
    `cd /root; source ${BUILD_SETUP_PATH}`;
  const env = { HOME: '/root', DEBIAN_FRONTEND: 'noninteractive', ...(ca ? CA_ENV(BUILD_CA_PATH) : {}) };
  const r = await sh.run(wrapper, { env, timeoutSeconds: 3600 });
  if (r.exitCode === 0) return;
  const line = failedSetupLine(r.stderr, script);
  throw new ImageBuildError(
    `the setup script failed${line ? ` at ${line}` : ''} (exit ${r.exitCode}): ${lastLines(r, 4)}`,
    'setup',
    line,
  );
}

/** What the build leaves behind that no image should carry: its files in /run, caches, the machine id. */
export const CLEAN_UP =
  'rm -f /run/tidepool-build-ca.crt /run/tidepool-setup.sh; rm -rf /root/.npm /root/.cache /tmp/* /var/tmp/*; ' +
  'apt-get clean >/dev/null 2>&1 || true; : > /etc/machine-id; rm -f /var/lib/dbus/machine-id';

/** What a build runs, in order, once its instance has booted. */
export async function runBuildSteps(
  sh: BuildShell,
  req: BuildImageRequest,
  ca: Buffer | undefined,
  report: BuildReport,
): Promise<void> {
  if (req.debianPackages.length || req.npmPackages.length) {
    report.progress('base', 'waiting for the build instance to boot');
    await waitForNetwork(sh);
  }
  await installDebianPackages(sh, req.debianPackages, report);
  await installNpmPackages(sh, req.npmPackages, ca, report);
  await runSetup(sh, req.setup, ca, report);
  await sh.run(CLEAN_UP);
}
