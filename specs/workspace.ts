import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, Condition, DNS_LABEL, ListOf, Name, ObjectMeta } from './meta.js';
import { QUANTITY_PATTERN } from './quantity.js';

/** The phases of a Workspace, one list for the schema, the type and the UI. */
/** The port the IDE (code-server) answers on in every workspace the images make. */
export const IDE_PORT = 8080;

export const WORKSPACE_PHASES = [
  'Pending',
  'Creating',
  'Starting',
  'Running',
  'Stopping',
  'Stopped',
  'Sleeping',
  'Failed',
  'Deleting',
] as const;
export const WorkspacePhase = Type.Union(WORKSPACE_PHASES.map((p) => Type.Literal(p)));
export type WorkspacePhase = (typeof WORKSPACE_PHASES)[number];

/** A repository URL git can clone: http(s)://, git://, ssh://, file:// or scp-like user@host:path; never an option. */
export const GIT_URL_PATTERN = '^(https?://|git://|ssh://|file://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[^\\s]+$';
/** A branch, tag or commit: git ref-name characters, not an option, no "..". */
export const GIT_REF_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9_][A-Za-z0-9._/+-]*$';

/** A branch, tag or commit to check out: one schema for every repository a workspace clones. */
const gitRef = () =>
  Type.String({
    minLength: 1,
    maxLength: 255,
    pattern: GIT_REF_PATTERN,
    patternMessage:
      'must be a branch, tag or commit: letters, digits, ".", "_", "/", "+" or "-", not starting with "-" or ".", without ".."',
    description: "Branch, tag or commit to check out. Defaults to the remote's default branch.",
  });

/** A git URL of a repository a workspace clones, with what it is for. */
const gitUrl = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 2048,
    pattern: GIT_URL_PATTERN,
    patternMessage: 'must be a git URL: https://, http://, git://, ssh://, file:// or user@host:path',
    description,
  });

export const WorkspaceSource = Type.Object(
  {
    fromWorkspace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        pattern: DNS_LABEL,
        patternMessage: "must be the name of a Workspace (a DNS label: lowercase letters, digits and '-')",
        description:
          "The new home starts as a copy of this Workspace's home (a copy-on-write copy where the storage allows). Read only when the home is made.",
      }),
    ),
    git: Type.Optional(
      Type.Object(
        {
          url: gitUrl('Repository cloned into ~/project as the user dev before the workspace is Ready.'),
          ref: Type.Optional(gitRef()),
        },
        {
          additionalProperties: false,
          description:
            'A git repository cloned into ~/project as the user dev when the home is made; a failed clone is the SourceReady condition and a CloneFailed event, and the workspace still starts.',
        },
      ),
    ),
    dotfiles: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(gitUrl('Dotfiles repository cloned into ~/.dotfiles as dev.')),
          ref: Type.Optional(gitRef()),
        },
        {
          additionalProperties: false,
          description:
            "Dotfiles cloned into ~/.dotfiles as dev when the workspace is made, then installed as Coder and Codespaces do: the first of install.sh, install, bootstrap.sh, bootstrap, script/bootstrap, setup.sh, setup, script/setup is run; without one, the dotfiles (.name) are linked into the home. The output is in the activity log and DotfilesReady says how it went. Absent: the server's default (serve --dotfiles); {} : none.",
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Where the home starts from; read only when the workspace is created (later changes are ignored). A failed clone leaves an empty ~/project, and the workspace still starts.',
  },
);
export type WorkspaceSource = Static<typeof WorkspaceSource>;

/** A duration of whole minutes, hours or seconds ("30m", "1h30m", "90s"), or "0" for never. */
export const IDLE_TIMEOUT_PATTERN = '^(0|([0-9]{1,4}h)?([0-9]{1,5}m)?([0-9]{1,6}s)?)$';

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
    running: Type.Boolean({
      default: true,
      description:
        'Desired power state; false stops the instance (the Incus container or VM, the Tart VM) and keeps its disk and home. Defaults to true.',
    }),
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
      {
        default: {},
        additionalProperties: false,
        description:
          'CPU and memory limits of the workspace, applied live where the runtime can; a change over the host budget is a condition naming the field. Defaults to 2 vCPUs and 4Gi.',
      },
    ),
    source: Type.Optional(WorkspaceSource),
    placement: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^@?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$',
        patternMessage: 'must be a cluster member name, or @ and a cluster group name',
        description:
          'Where the workspace runs on an Incus cluster: a member ("m2") or "@" and a cluster group ("@gpu"). A change moves the workspace and its home there (stopped, moved, started again). Defaults to the server\'s --incus-target, else the least busy online member.',
      }),
    ),
    idleTimeout: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 16,
        pattern: IDLE_TIMEOUT_PATTERN,
        patternMessage: 'must be a duration such as 30m, 1h or 1h30m (at least 1m), or 0 for never',
        description:
          'How long the workspace may go unused before it sleeps: stopped with its home kept, spec.running still true, woken when its IDE or a Port is opened through the proxy. Use counts requests through the proxy, traffic on open IDE connections, exec sessions and CPU above a threshold. "0" means never; absent takes the server default (--idle-timeout, never unless set).',
      }),
    ),
    settingsSync: Type.Optional(
      Type.Boolean({
        description:
          'Whether the editor settings follow you into and out of this workspace: saved when it stops or is deleted, written into it when it is made. Defaults to true (where the server keeps them).',
      }),
    ),
  },
  { default: {}, additionalProperties: false },
);
export type WorkspaceSpec = Static<typeof WorkspaceSpec>;

/** Why a workspace sleeps, as status.sleep records it. */
export const SLEEP_REASONS = ['Idle', 'Requested', 'MakingRoom'] as const;
export type SleepReason = (typeof SLEEP_REASONS)[number];

export const WorkspaceSleep = Type.Object(
  {
    since: Type.String({ format: 'date-time', description: 'When it was put to sleep.' }),
    reason: Type.Union(
      SLEEP_REASONS.map((r) => Type.Literal(r)),
      {
        description:
          'Idle (unused for spec.idleTimeout), Requested (`tidepool sleep`, the UI) or MakingRoom (put to sleep so that another workspace fits the budget).',
      },
    ),
    lastSignal: Type.Optional(
      Type.String({ description: 'The signal that last saw it used (proxy, network, exec, cpu, start).' }),
    ),
    lastActiveTime: Type.Optional(
      Type.String({ format: 'date-time', description: 'When that signal last saw it used.' }),
    ),
    message: Type.Optional(Type.String({ description: 'Why it sleeps, as a person reads it.' })),
  },
  {
    additionalProperties: false,
    description: 'Set while the workspace sleeps: it wakes when opened through the proxy, or with `tidepool wake`.',
  },
);
export type WorkspaceSleep = Static<typeof WorkspaceSleep>;

export const WorkspaceStatus = Type.Object({
  phase: Type.Optional(WorkspacePhase),
  observedGeneration: Type.Optional(Type.Integer()),
  ip: Type.Optional(Type.String()),
  url: Type.Optional(Type.String({ description: 'Path of the IDE on the workspace server: /workspace/{name}/' })),
  instance: Type.Optional(
    Type.String({
      description:
        "The runtime's own name of the instance, the Incus container or VM or the Tart VM (for `incus exec NAME`, `tart ssh NAME`).",
    }),
  ),
  node: Type.Optional(
    Type.String({ description: 'The cluster member the instance runs on, where the runtime is an Incus cluster.' }),
  ),
  lastStartedTime: Type.Optional(Type.String({ format: 'date-time' })),
  lastAccessTime: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'When a request last went through the proxy to this workspace (its IDE or a Port); written at most every ~30 s while it is used.',
    }),
  ),
  sleep: Type.Optional(WorkspaceSleep),
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
