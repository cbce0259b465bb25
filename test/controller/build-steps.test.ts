// The build steps of an ImageTemplate against a fake shell: what runs inside the build
// instance, in which order, with the host's CA handed to npm only, and how a failure is named
// from the tools' own words (apt's, npm's, bash's).
import { describe, expect, it } from 'vitest';
import {
  BUILD_CA_PATH,
  failedDebianPackage,
  failedSetupLine,
  runBuildSteps,
  type BuildShell,
} from '../../drivers/runtime/build-steps.js';
import { ImageBuildError, type BuildImageRequest, type ExecResult } from '../../drivers/runtime/types.js';

interface Ran {
  script: string;
  env?: Record<string, string>;
}

function fakeShell(answer: (script: string) => Partial<ExecResult> = () => ({})) {
  const ran: Ran[] = [];
  const pushed = new Map<string, string>();
  const sh: BuildShell = {
    async run(script, opts = {}) {
      ran.push({ script, ...(opts.env ? { env: opts.env } : {}) });
      return { exitCode: 0, stdout: '', stderr: '', ...answer(script) };
    },
    async push(path, content) {
      pushed.set(path, String(content));
    },
  };
  return { sh, ran, pushed };
}

const report = { progress: () => undefined, log: () => undefined };
const req = (over: Partial<BuildImageRequest> = {}): BuildImageRequest => ({
  template: 't',
  base: 'default',
  image: 'img',
  debianPackages: [],
  npmPackages: [],
  ...over,
});

async function failure(p: Promise<unknown>): Promise<ImageBuildError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ImageBuildError)) throw new Error(`expected an ImageBuildError, got ${String(err)}`);
  return err;
}

describe('image build steps', () => {
  it('runs apt, then npm one package at a time with the CA in /run, then the setup, then the clean-up', async () => {
    const { sh, ran, pushed } = fakeShell();
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n');
    await runBuildSteps(
      sh,
      req({ debianPackages: ['python3-venv'], npmPackages: ['typescript', '@scope/x@1'], setup: 'echo hi' }),
      ca,
      report,
    );
    const scripts = ran.map((r) => r.script);
    expect(scripts[1]).toBe('apt-get update --error-on=any');
    expect(scripts[2]).toMatch(/apt-get install -y --no-install-recommends .* 'python3-venv'$/);
    const npm = ran.filter((r) => r.script.includes('npm install -g'));
    expect(npm.map((r) => r.script.split(' ').pop())).toEqual(["'typescript'", "'@scope/x@1'"]);
    expect(npm[0]!.env).toMatchObject({ npm_config_cafile: BUILD_CA_PATH, NODE_EXTRA_CA_CERTS: BUILD_CA_PATH });
    expect(pushed.get(BUILD_CA_PATH)).toBe(ca.toString());
    expect(pushed.get('/run/tidepool-setup.sh')).toBe('echo hi');
    // The setup script's downloads (pip, curl, git) trust the host's CA too, for the build only.
    const setup = ran.find((r) => r.script.includes('source /run/tidepool-setup.sh'))!;
    expect(setup.env).toMatchObject({
      PIP_CERT: BUILD_CA_PATH,
      SSL_CERT_FILE: BUILD_CA_PATH,
      GIT_SSL_CAINFO: BUILD_CA_PATH,
    });
    const last = scripts.at(-1)!;
    expect(last).toMatch(/rm -f \/run\/tidepool-build-ca.crt/);
    expect(last).toMatch(/: > \/etc\/machine-id/);
    // apt never gets the CA: its mirror is plain HTTP.
    expect(ran.filter((r) => r.script.startsWith('apt-get')).every((r) => !r.env?.NODE_EXTRA_CA_CERTS)).toBe(true);
  });

  it('runs nothing but the clean-up for an empty template, and no network wait', async () => {
    const { sh, ran } = fakeShell();
    await runBuildSteps(sh, req(), undefined, report);
    expect(ran).toHaveLength(1);
    expect(ran[0]!.script).toMatch(/machine-id/);
  });

  it('names the Debian package apt cannot find', async () => {
    const { sh } = fakeShell((s) =>
      s.startsWith('apt-get install') ? { exitCode: 100, stderr: 'E: Unable to locate package no-such-pkg-tp\n' } : {},
    );
    const err = await failure(runBuildSteps(sh, req({ debianPackages: ['jq', 'no-such-pkg-tp'] }), undefined, report));
    expect(err).toMatchObject({ step: 'debianPackages', item: 'no-such-pkg-tp' });
    expect(err.message).toMatch(/package "no-such-pkg-tp".*Unable to locate package/);
    expect(failedDebianPackage("E: Version '9.9' for 'jq' was not found", ['jq=9.9'])).toBe('jq=9.9');
    expect(failedDebianPackage('E: Package has no installation candidate', ['x'])).toBeUndefined();
  });

  it('names the npm package that failed and installs none after it', async () => {
    const { sh, ran } = fakeShell((s) =>
      s.endsWith("'nope-tp'")
        ? { exitCode: 1, stderr: 'npm error 404 Not Found - GET https://registry.npmjs.org/nope-tp' }
        : {},
    );
    const err = await failure(runBuildSteps(sh, req({ npmPackages: ['a', 'nope-tp', 'b'] }), undefined, report));
    expect(err).toMatchObject({ step: 'npmPackages', item: 'nope-tp' });
    expect(err.message).toMatch(/404 Not Found/);
    expect(ran.some((r) => r.script.endsWith("'b'"))).toBe(false);
  });

  it('names the line of the setup script that failed, from the ERR trap', async () => {
    const script = 'echo one\n\ncurl -fsS http://nowhere.invalid/x | sh\necho never';
    const { sh } = fakeShell((s) =>
      s.includes('source /run/tidepool-setup.sh')
        ? { exitCode: 6, stderr: 'curl: (6)\ntidepool-setup-failed line=3 status=6\n' }
        : {},
    );
    const err = await failure(runBuildSteps(sh, req({ setup: script }), undefined, report));
    expect(err).toMatchObject({ step: 'setup', item: 'line 3: curl -fsS http://nowhere.invalid/x | sh' });
    expect(err.message).toMatch(/exit 6/);
    expect(failedSetupLine('no marker', script)).toBeUndefined();
  });
});
