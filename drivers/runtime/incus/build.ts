// ImageTemplate builds on Incus, copy-on-write from the base image: an instance is made from
// the base (a clone of its volume on btrfs), booted with the IDE's unit held back (as the warm
// pool does, so code-server writes nothing into the image), the steps run inside as root
// (../build-steps.ts: packages through the bridge's NAT, the host's CA bundle handed to npm in
// /run for the build only), then stopped and published with POST /1.0/images from the instance
// under the build's own alias. The instance always goes; an image is aliased only once whole.
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../../../specs/errors.js';
import { runBuildSteps, type BuildShell } from '../build-steps.js';
import { resolveImage, type ImageMap, type IncusImage } from '../images.js';
import { ImageBuildError, type BuildImageRequest, type BuildReport } from '../types.js';
import { sourceOf } from './mapping.js';
import { builderInstanceName, CONFIG_BUILDER, CONFIG_ID } from './names.js';
import { isNotFound, type IncusScope } from './scope.js';

const IDE_UNIT = '/etc/systemd/system/code-server.service';
const IDE_WANTS = '/etc/systemd/system/multi-user.target.wants/code-server.service';
/** Puts the IDE's boot link back, on an image that has the unit. */
const RESTORE_IDE = `if [ -e ${IDE_UNIT} ]; then ln -sf ${IDE_UNIT} ${IDE_WANTS}; fi`;
/** Marks Tidepool's built images (an image property), with the Tidepool id as value. */
export const IMAGE_PROPERTY_ID = 'tidepool.id';

export interface BuildSettings {
  profile: string;
  imageMap: ImageMap;
  /** The host's CA bundle, handed to npm inside the build (a TLS-intercepting proxy's CA); none when absent. */
  caFile: string | undefined;
  log: (msg: string) => void;
}

export class IncusImageBuilder {
  readonly #scope: IncusScope;
  readonly #s: BuildSettings;

  constructor(scope: IncusScope, settings: BuildSettings) {
    this.#scope = scope;
    this.#s = settings;
  }

  async build(req: BuildImageRequest, report: BuildReport): Promise<void> {
    const name = builderInstanceName(this.#scope.tidepoolId, req.template);
    const base: IncusImage = req.baseBuild
      ? { alias: req.baseBuild }
      : resolveImage(this.#s.imageMap, 'incus', req.base);
    await this.#remove(name); // a build cut short (serve killed) left its instance
    try {
      report.progress('base', `making the build instance ${name} from ${base.alias}`);
      report.log(`build instance ${name} from image ${base.alias}`);
      await this.#launch(name, req, base);
      const ca = await this.#ca();
      await runBuildSteps(this.#shell(name, report), req, ca, report);
      report.progress('publish', `publishing image ${req.image}`);
      await this.#exec(name, ['sh', '-c', RESTORE_IDE]);
      await this.#call('PUT', `${this.#path(name)}/state`, { action: 'stop', timeout: 60, force: true }, 120);
      await this.#publish(name, req);
      report.log(`published image ${req.image}`);
      report.progress('publish', `unpacking image ${req.image} into the storage pool`);
      await this.#warm(name, req.image);
    } finally {
      await this.#remove(name);
    }
  }

  async delete(alias: string): Promise<void> {
    const fingerprint = await this.#fingerprint(alias);
    if (!fingerprint) return;
    try {
      await this.#call('DELETE', `/1.0/images/${fingerprint}`, undefined, 120);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async has(alias: string): Promise<boolean> {
    return (await this.#fingerprint(alias)) !== undefined;
  }

  async #launch(name: string, req: BuildImageRequest, base: IncusImage): Promise<void> {
    const body = {
      name,
      type: base.type ?? 'container',
      source: sourceOf(base),
      config: {
        'limits.cpu': '2',
        'limits.memory': '2GiB',
        [CONFIG_ID]: this.#scope.tidepoolId,
        [CONFIG_BUILDER]: req.template,
      },
      profiles: [this.#s.profile],
      start: false,
    };
    try {
      await this.#call('POST', '/1.0/instances', body, 600);
    } catch (err) {
      throw new ImageBuildError(
        `could not make the build instance from image "${base.alias}": ${errorMessage(err)}`,
        'base',
      );
    }
    // Held back for the build (put back before publishing): code-server never runs in it.
    await this.#call('DELETE', `${this.#path(name)}/files?path=${encodeURIComponent(IDE_WANTS)}`).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    await this.#call('PUT', `${this.#path(name)}/state`, { action: 'start' }, 120);
  }

  async #publish(name: string, req: BuildImageRequest): Promise<void> {
    const body = {
      source: { type: 'instance', name },
      // zstd, as setup packs the IDE image: much faster to publish than Incus's default gzip, and to unpack.
      compression_algorithm: 'zstd',
      properties: {
        description: `Tidepool image template ${req.template} (from ${req.base})`,
        [IMAGE_PROPERTY_ID]: this.#scope.tidepoolId,
        'tidepool.template': req.template,
      },
    };
    let fingerprint: string | undefined;
    try {
      const meta = await this.#call<{ fingerprint?: string }>('POST', '/1.0/images', body, 1800);
      fingerprint = meta?.fingerprint;
    } catch (err) {
      throw new ImageBuildError(`publishing the image failed: ${errorMessage(err)}`, 'publish');
    }
    if (!fingerprint) throw new ImageBuildError('publishing the image gave no fingerprint', 'publish');
    await this.delete(req.image); // a build of this generation cut short after its alias was made
    await this.#call('POST', '/1.0/images/aliases', { name: req.image, target: fingerprint });
  }

  /**
   * An instance made (not started) from the new image and deleted again: Incus unpacks an image
   * into the pool at its first use and keeps it there for the next ones (a copy-on-write clone on
   * btrfs), so the first workspace on the template does not pay for the unpack.
   */
  async #warm(builder: string, alias: string): Promise<void> {
    await this.#remove(builder);
    const body = {
      name: builder,
      source: { type: 'image', alias },
      config: { [CONFIG_ID]: this.#scope.tidepoolId, [CONFIG_BUILDER]: 'warm' },
      profiles: [this.#s.profile],
      start: false,
    };
    await this.#call('POST', '/1.0/instances', body, 600);
  }

  async #fingerprint(alias: string): Promise<string | undefined> {
    try {
      const a = await this.#call<{ target?: string }>('GET', `/1.0/images/aliases/${encodeURIComponent(alias)}`);
      return a?.target;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #ca(): Promise<Buffer | undefined> {
    if (!this.#s.caFile) return undefined;
    return readFile(this.#s.caFile).catch(() => undefined);
  }

  #shell(name: string, report: BuildReport): BuildShell {
    return {
      run: async (script, opts = {}) => {
        report.log(`$ ${script}`);
        const r = await this.#exec(name, ['bash', '-c', script], opts.env, opts.timeoutSeconds);
        for (const text of [r.stdout, r.stderr]) if (text.trim()) report.log(text.trimEnd());
        if (r.exitCode !== 0) report.log(`(exit ${r.exitCode})`);
        return r;
      },
      push: (path, content, mode) =>
        this.#scope.client.pushFile(
          this.#scope.query(`${this.#path(name)}/files?path=${encodeURIComponent(path)}`),
          content,
          mode,
        ),
    };
  }

  #exec(name: string, argv: string[], env?: Record<string, string>, timeoutSeconds?: number) {
    const opts = { ...(env ? { env } : {}), ...(timeoutSeconds ? { timeoutSeconds } : {}) };
    return this.#scope.exec(name, argv, opts);
  }

  #path(name: string): string {
    return this.#scope.instancePath(name);
  }

  #call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, waitSeconds?: number) {
    return this.#scope.client.call<T>(method, this.#scope.query(path), body, waitSeconds ? { waitSeconds } : {});
  }

  async #remove(name: string): Promise<void> {
    try {
      await this.#call('PUT', `${this.#path(name)}/state`, { action: 'stop', timeout: 0, force: true }, 120).catch(
        () => undefined,
      );
      await this.#call('DELETE', this.#path(name), undefined, 120);
    } catch (err) {
      if (!isNotFound(err)) this.#s.log(`incus: image build: could not delete ${name}: ${errorMessage(err)}`);
    }
  }
}
