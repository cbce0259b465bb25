// The ImageTemplate builds in flight, in memory: a build takes minutes, so it runs beside the
// workers (one at a time: a build keeps the host's cores busy), and the template's key is
// enqueued when it moves on or ends; the reconciler reads where it stands from here. Each
// build's log goes to <dataDir>/.build-logs/<template>.log (started afresh by each build),
// which `tidepool logs imagetemplate/NAME` reads.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLogPath } from '../store/index.js';
import type { BuildImageRequest, BuildStep, RuntimeDriver } from '../drivers/runtime/types.js';
import { ImageBuildError } from '../drivers/runtime/types.js';
import { errorMessage } from '../specs/errors.js';
import type { Clock } from './queue/index.js';

export interface Build {
  template: string;
  /** The ImageTemplate's uid and generation this build is of. */
  uid: string;
  generation: number;
  image: string;
  state: 'Queued' | 'Running' | 'Succeeded' | 'Failed';
  step?: BuildStep;
  progress?: string;
  /** How it failed: the step, and the package or script line when known. */
  failure?: { step: BuildStep; item?: string; message: string };
  startedAt?: number;
  endedAt?: number;
}

export class ImageBuilds {
  readonly #runtime: RuntimeDriver;
  readonly #dataDir: string | undefined;
  readonly #clock: Clock;
  readonly #onChange: (template: string) => void;
  readonly #builds = new Map<string, Build>();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(runtime: RuntimeDriver, dataDir: string | undefined, clock: Clock, onChange: (template: string) => void) {
    this.#runtime = runtime;
    this.#dataDir = dataDir;
    this.#clock = clock;
    this.#onChange = onChange;
  }

  /** The last build of a template this process started (running or ended). */
  get(template: string): Build | undefined {
    return this.#builds.get(template);
  }

  /** Starts a build (after the ones already queued); returns at once. */
  start(req: BuildImageRequest, uid: string, generation: number): Build {
    const b: Build = { template: req.template, uid, generation, image: req.image, state: 'Queued' };
    this.#builds.set(req.template, b);
    this.#chain = this.#chain.then(() => this.#run(b, req));
    return b;
  }

  /** Forgets a template's build record (the template was deleted). A running build goes on to its end. */
  forget(template: string): void {
    this.#builds.delete(template);
  }

  /** Waits for the builds queued so far (serve's shutdown, tests). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
  }

  async #run(b: Build, req: BuildImageRequest): Promise<void> {
    if (this.#closed || this.#builds.get(b.template) !== b) return;
    const log = new BuildLog(this.#dataDir, b.template);
    b.state = 'Running';
    b.startedAt = this.#clock.now();
    await log.begin(`build of image template ${b.template} (generation ${b.generation}) as ${b.image}`);
    this.#onChange(b.template);
    let failure: Build['failure'];
    try {
      await this.#runtime.buildImage!(req, {
        progress: (step, text) => {
          b.step = step;
          b.progress = text;
          log.line(`== ${text}`);
          this.#onChange(b.template);
        },
        log: (text) => log.line(text),
      });
      log.line(`build succeeded: image ${b.image}`);
    } catch (err) {
      const step = err instanceof ImageBuildError ? err.step : (b.step ?? 'base');
      const item = err instanceof ImageBuildError ? err.item : undefined;
      failure = { step, message: errorMessage(err), ...(item ? { item } : {}) };
      log.line(`build failed in step ${step}: ${errorMessage(err)}`);
    }
    // The log is whole before anyone sees the outcome.
    await log.flush();
    b.endedAt = this.#clock.now();
    if (failure) b.failure = failure;
    b.state = failure ? 'Failed' : 'Succeeded';
    // Superseded while it ran (a newer spec, or the template deleted): its image is nobody's.
    if (b.state === 'Succeeded' && this.#builds.get(b.template) !== b)
      await this.#runtime.deleteImage?.(b.image).catch(() => undefined);
    this.#onChange(b.template);
  }
}

/** One build's log file; writes are chained, and a log that cannot be written is not the build's failure. */
class BuildLog {
  readonly #file: string | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(dataDir: string | undefined, template: string) {
    this.#file = dataDir ? join(buildLogPath(dataDir), `${template}.log`) : undefined;
  }

  async begin(first: string): Promise<void> {
    const file = this.#file;
    if (!file) return;
    this.#chain = mkdir(join(file, '..'), { recursive: true, mode: 0o700 })
      .then(() => writeFile(file, `${new Date().toISOString()} ${first}\n`, { mode: 0o600 }))
      .catch(() => undefined);
    await this.#chain;
  }

  line(text: string): void {
    const file = this.#file;
    if (!file) return;
    const stamped = text
      .split('\n')
      .map((l) => `${new Date().toISOString()} ${l}\n`)
      .join('');
    this.#chain = this.#chain.then(() => appendFile(file, stamped)).catch(() => undefined);
  }

  flush(): Promise<void> {
    return this.#chain;
  }
}
