import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, Condition, ListOf, Name, ObjectMeta } from './meta.js';
import { QUANTITY_PATTERN } from './quantity.js';

export const WorkspacePhase = Type.Union(
  ['Pending', 'Creating', 'Starting', 'Running', 'Stopping', 'Stopped', 'Failed', 'Deleting'].map((p) => Type.Literal(p)),
);
export type WorkspacePhase = 'Pending' | 'Creating' | 'Starting' | 'Running' | 'Stopping' | 'Stopped' | 'Failed' | 'Deleting';

export const WorkspaceSpec = Type.Object(
  {
    image: Type.String({
      default: 'default',
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$',
      patternMessage: 'must be lowercase letters, digits, ".", "-" or "_", starting and ending alphanumeric',
      description: 'Image template name, mapped to a runtime image by the server. Defaults to "default".',
    }),
    running: Type.Boolean({ default: true, description: 'Desired power state; false stops the VM and keeps its disk. Defaults to true.' }),
    resources: Type.Object(
      {
        cpu: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'vCPUs. Defaults to 2.' }),
        memory: Type.String({
          pattern: QUANTITY_PATTERN,
          default: '4Gi',
          patternMessage: 'must be a quantity such as 512Mi or 4Gi',
          description: 'Kubernetes quantity (512Mi, 4Gi), 64Mi..1Ti. Defaults to 4Gi.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { default: {}, additionalProperties: false },
);
export type WorkspaceSpec = Static<typeof WorkspaceSpec>;

export const WorkspaceStatus = Type.Object({
  phase: Type.Optional(WorkspacePhase),
  observedGeneration: Type.Optional(Type.Integer()),
  ip: Type.Optional(Type.String()),
  url: Type.Optional(Type.String({ description: 'Path of the IDE on the workspace server: /workspace/{name}/' })),
  lastStartedTime: Type.Optional(Type.String({ format: 'date-time' })),
  lastAccessTime: Type.Optional(Type.String({ format: 'date-time', description: 'When a request last went through the proxy to this workspace (its IDE or a Port); written at most every ~30 s while it is used.' })),
  conditions: Type.Optional(Type.Array(Condition)),
});
export type WorkspaceStatus = Static<typeof WorkspaceStatus>;

export const Workspace = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Workspace'),
    metadata: ObjectMeta,
    spec: WorkspaceSpec,
    status: Type.Optional(WorkspaceStatus),
  },
  { additionalProperties: false, $id: 'Workspace' },
);
export type Workspace = Static<typeof Workspace>;
export const WorkspaceList = ListOf('Workspace', Workspace);

export { Name };
