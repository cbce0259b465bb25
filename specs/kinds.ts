// The one table of resource kinds: the API, the CLI and the controller all look kinds up here.
import type { TSchema } from '@sinclair/typebox';
import { Workspace, WorkspaceList, WorkspaceSpec, WorkspaceStatus } from './workspace.js';
import { Port, PortList, PortSpec, PortStatus } from './port.js';
import { Event, EventList } from './event.js';
import { Sync, SyncList, SyncSpec, SyncStatus } from './sync.js';
import { ImageTemplate, ImageTemplateList, ImageTemplateSpec, ImageTemplateStatus } from './image-template.js';
import { Quota, QuotaList, QuotaSpec } from './quota.js';

/** Each kind's object type (the Static of its schema): what the store hands out for it. */
export interface KindTypes {
  Workspace: Workspace;
  Port: Port;
  Event: Event;
  Sync: Sync;
  ImageTemplate: ImageTemplate;
  Quota: Quota;
}
export type KindName = keyof KindTypes;
/** The status of a kind that has one. */
export type StatusOf<K extends KindName> = KindTypes[K] extends { status?: infer S } ? S : never;

export interface KindInfo {
  kind: string;
  /** URL segment and the name kubectl users type most: `workspaces`. */
  plural: string;
  singular: string;
  shortNames: string[];
  schema: TSchema;
  listSchema: TSchema;
  specSchema?: TSchema;
  statusSchema?: TSchema;
  /** Users may create and change it (through the API, apply or a sync); otherwise only the server writes it. */
  userWritable: boolean;
  /** Lives in a namespace (metadata.namespace, /api/v1/namespaces/{ns}/...); otherwise one for the whole server. */
  namespaced: boolean;
}

export const KINDS: readonly KindInfo[] = [
  {
    kind: 'Workspace',
    plural: 'workspaces',
    singular: 'workspace',
    shortNames: ['ws'],
    schema: Workspace,
    listSchema: WorkspaceList,
    specSchema: WorkspaceSpec,
    statusSchema: WorkspaceStatus,
    userWritable: true,
    namespaced: true,
  },
  {
    kind: 'Port',
    plural: 'ports',
    singular: 'port',
    shortNames: ['pt'],
    schema: Port,
    listSchema: PortList,
    specSchema: PortSpec,
    statusSchema: PortStatus,
    userWritable: true,
    namespaced: true,
  },
  {
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    shortNames: ['ev'],
    schema: Event,
    listSchema: EventList,
    userWritable: false,
    namespaced: true,
  },
  {
    kind: 'Sync',
    plural: 'syncs',
    singular: 'sync',
    shortNames: [],
    schema: Sync,
    listSchema: SyncList,
    specSchema: SyncSpec,
    statusSchema: SyncStatus,
    userWritable: false,
    namespaced: false,
  },
  {
    kind: 'ImageTemplate',
    plural: 'imagetemplates',
    singular: 'imagetemplate',
    shortNames: ['it'],
    schema: ImageTemplate,
    listSchema: ImageTemplateList,
    specSchema: ImageTemplateSpec,
    statusSchema: ImageTemplateStatus,
    userWritable: true,
    namespaced: false,
  },
  {
    kind: 'Quota',
    plural: 'quotas',
    singular: 'quota',
    shortNames: [],
    schema: Quota,
    listSchema: QuotaList,
    specSchema: QuotaSpec,
    userWritable: true,
    namespaced: false,
  },
];

/** Finds a kind by any of the names a user may type: `Workspace`, `workspace`, `workspaces`, `ws`. */
export function lookupKind(name: string): KindInfo | undefined {
  const n = name.toLowerCase();
  return KINDS.find(
    (k) => k.kind.toLowerCase() === n || k.plural === n || k.singular === n || k.shortNames.includes(n),
  );
}

export function kindByName(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}
