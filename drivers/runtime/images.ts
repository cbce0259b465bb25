// The one image map: a Workspace's spec.image (an image template name) → the image each
// runtime creates it from. Every runtime driver resolves images here and nowhere else.
//
// On Incus, `default` is the IDE image built by images/ide (Debian, code-server on :8080) and
// `minimal` the busybox image of images/minimal, for tests that need a workspace in a second
// and a few MiB; scripts/setup-host.sh builds and imports both. On Tart, `default` is the
// local VM built by images/tart (Packer).
import { RuntimeError } from './types.js';

/** Alias of the image built by images/minimal/build.sh and imported by scripts/setup-host.sh. */
export const MINIMAL_IMAGE_ALIAS = 'tidepool-minimal';
/** Alias of the IDE image built by images/ide/build.sh and imported by scripts/ide-image.sh. */
export const IDE_IMAGE_ALIAS = 'tidepool-ide';
/** Name of the local Tart VM that images/tart/workspace.pkr.hcl builds. */
export const TART_WORKSPACE_IMAGE = 'tidepool-workspace';

export type IncusInstanceType = 'container' | 'virtual-machine';

export interface IncusImage {
  /** Image alias in the Incus image store (or a fingerprint). */
  alias: string;
  /** Instance type; containers by default, VMs where the host supports them. */
  type?: IncusInstanceType;
  /** Image server to pull from when the alias is not local (simplestreams or Incus URL). */
  server?: string;
  /** Protocol of `server`: 'simplestreams' (default when server is set) or 'incus'. */
  protocol?: 'simplestreams' | 'incus';
}

export interface TartImage {
  /** What `tart clone` copies: a local VM name or an OCI reference (ghcr.io/...). */
  source: string;
}

export interface ImageMap {
  incus: Record<string, IncusImage>;
  tart: Record<string, TartImage>;
}

export const defaultImageMap: ImageMap = {
  incus: {
    default: { alias: IDE_IMAGE_ALIAS, type: 'container' },
    minimal: { alias: MINIMAL_IMAGE_ALIAS, type: 'container' },
  },
  tart: {
    default: { source: TART_WORKSPACE_IMAGE },
  },
};

/** The default map with entries added or replaced (per runtime, per template name). */
export function withImages(
  overrides: { incus?: Record<string, IncusImage>; tart?: Record<string, TartImage> },
  base: ImageMap = defaultImageMap,
): ImageMap {
  return {
    incus: { ...base.incus, ...overrides.incus },
    tart: { ...base.tart, ...overrides.tart },
  };
}

/** The runtime image for a template name, or a RuntimeError (reason UnknownImage) naming the known ones. */
export function resolveImage<R extends keyof ImageMap>(
  map: ImageMap,
  runtime: R,
  template: string,
): ImageMap[R][string] {
  const table = map[runtime] as Record<string, ImageMap[R][string]>;
  const hit = Object.hasOwn(table, template) ? table[template] : undefined;
  if (!hit) {
    const known = Object.keys(table).sort().join(', ') || 'none';
    throw new RuntimeError(
      `image template "${template}" is not in the ${runtime} image map (known: ${known})`,
      'UnknownImage',
      422,
    );
  }
  return hit;
}
