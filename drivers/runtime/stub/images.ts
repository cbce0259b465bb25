// The stub's built images, in memory: a build "installs" each package and runs the setup
// script line by line, without a guest. A Debian or npm package whose name starts with
// "missing-" is not found, and a setup line that is `false` or `exit N` (N > 0) fails, so
// tests see how a failing build is named; `buildMs` makes a build take that long.
import { ImageBuildError, type BuildImageRequest, type BuildReport } from '../types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StubImages {
  readonly built = new Set<string>();
  /** Each build's request, in order (tests read what was asked). */
  readonly requests: BuildImageRequest[] = [];
  /** When set, builds wait for it before they publish (a test holds a build in flight). */
  gate: Promise<void> | undefined;
  readonly #buildMs: number;

  constructor(buildMs = 0) {
    this.#buildMs = buildMs;
  }

  async build(req: BuildImageRequest, report: BuildReport): Promise<void> {
    this.requests.push(structuredClone(req));
    if (req.baseBuild && !this.built.has(req.baseBuild))
      throw new ImageBuildError(`stub: no image "${req.baseBuild}" to start from`, 'base');
    report.progress('base', `making the build instance from ${req.baseBuild ?? req.base}`);
    if (this.#buildMs > 0) await sleep(this.#buildMs);
    for (const [step, pkgs] of [
      ['debianPackages', req.debianPackages],
      ['npmPackages', req.npmPackages],
    ] as const) {
      for (const p of pkgs) {
        report.log(`install ${p}`);
        if (p.startsWith('missing-')) throw new ImageBuildError(`stub: package "${p}" not found`, step, p);
      }
    }
    const lines = (req.setup ?? '').split('\n');
    for (const [i, line] of lines.entries()) {
      report.log(`+ ${line}`);
      if (/^\s*(false|exit [1-9]\d*)\s*$/.test(line))
        throw new ImageBuildError(
          `stub: the setup script failed at line ${i + 1}`,
          'setup',
          `line ${i + 1}: ${line.trim()}`,
        );
    }
    await this.gate;
    report.progress('publish', `publishing image ${req.image}`);
    this.built.add(req.image);
  }

  async delete(image: string): Promise<void> {
    this.built.delete(image);
  }

  async has(image: string): Promise<boolean> {
    return this.built.has(image);
  }
}
