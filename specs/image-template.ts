// ImageTemplate: an image declared the way a user thinks of it (a base, Debian packages, npm
// packages, a setup script run as root), built by the controller copy-on-write from the base
// image. Workspaces name it in spec.image; the previous build keeps serving until the next one
// is ready, and a workspace picks a new build up at its next recreate (ImageApplied says so).
import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, Condition, ListOf, ObjectMeta } from './meta.js';

/** A Debian package name (policy 5.6.1), optionally with an exact version: `python3-venv`, `git=1:2.39.5-0+deb12u2`. */
export const DEBIAN_PACKAGE_PATTERN = '^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$';
/** An npm package spec without options or URLs: `typescript`, `@scope/name@^5`, `eslint@9.1.0`. */
export const NPM_PACKAGE_PATTERN = '^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*(@[A-Za-z0-9.^~<>=*|+ -]+)?$';

export const ImageTemplateSpec = Type.Object(
  {
    base: Type.String({
      default: 'default',
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$',
      patternMessage: 'must be an image template name: lowercase letters, digits, ".", "-" or "_"',
      description:
        'Image template the build starts from (copy-on-write): one of the server\'s templates or another ImageTemplate. Defaults to "default", the IDE image.',
    }),
    debianPackages: Type.Array(
      Type.String({
        pattern: DEBIAN_PACKAGE_PATTERN,
        patternMessage: 'must be a Debian package name (lowercase letters, digits, "+", "-", "."), optionally =VERSION',
      }),
      {
        default: [],
        maxItems: 200,
        uniqueItems: true,
        description: 'Debian packages installed with apt-get (no recommends). Defaults to none.',
      },
    ),
    npmPackages: Type.Array(
      Type.String({
        maxLength: 214,
        pattern: NPM_PACKAGE_PATTERN,
        patternMessage: 'must be an npm package name, optionally @VERSION or @RANGE (no URLs, no options)',
      }),
      {
        default: [],
        maxItems: 100,
        uniqueItems: true,
        description: 'npm packages installed globally (npm install -g), one at a time. Defaults to none.',
      },
    ),
    setup: Type.Optional(
      Type.String({
        maxLength: 65536,
        description:
          'A bash script run as root after the packages, with `set -e`: a failing line stops the build and is named in the Built condition.',
      }),
    ),
  },
  { default: {}, additionalProperties: false },
);
export type ImageTemplateSpec = Static<typeof ImageTemplateSpec>;

export const IMAGE_TEMPLATE_PHASES = ['Pending', 'Building', 'Ready', 'Failed'] as const;
export type ImageTemplatePhase = (typeof IMAGE_TEMPLATE_PHASES)[number];

export const ImageTemplateStatus = Type.Object({
  // A string in the schema (not the phases): a store written by an older server loads as it is.
  phase: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  /** The runtime image workspaces are made from now (the last successful build). */
  image: Type.Optional(Type.String({ description: "The runtime's own name of the image in use (an Incus alias)." })),
  /** The generation of the spec that `image` was built from. */
  imageGeneration: Type.Optional(Type.Integer()),
  builtTime: Type.Optional(Type.String({ format: 'date-time' })),
  /** When the last build failed: a rollout restart after it asks for another. */
  failedTime: Type.Optional(Type.String({ format: 'date-time' })),
  progress: Type.Optional(
    Type.String({ description: 'The build step running now, e.g. "npm packages (2/3: eslint)".' }),
  ),
  conditions: Type.Optional(Type.Array(Condition)),
});
export type ImageTemplateStatus = Static<typeof ImageTemplateStatus>;

export const ImageTemplate = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('ImageTemplate'),
    metadata: ObjectMeta,
    spec: ImageTemplateSpec,
    status: Type.Optional(ImageTemplateStatus),
  },
  { additionalProperties: false, $id: 'ImageTemplate' },
);
export type ImageTemplate = Static<typeof ImageTemplate>;
export const ImageTemplateList = ListOf('ImageTemplate', ImageTemplate);

/** Set on a Workspace by `tidepool rollout restart`: a waiting image update is taken now (the instance made again, the home kept). */
export const RESTARTED_AT_ANNOTATION = 'tidepool/restartedAt';
