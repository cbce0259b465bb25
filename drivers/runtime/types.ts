// The runtime driver contract: how the controller sees VMs and system containers.
// Implementations: stub (in memory), incus (REST over the unix socket), tart (CLI).
// The controller imports only this file, never a concrete driver.
import type { ExecRequest, ExecSession } from '../../specs/exec.js';
import type { Node } from '../../specs/node.js';
import { DriverError } from '../errors.js';

export type VMState = 'Running' | 'Stopped' | 'Starting' | 'Stopping' | 'Error' | 'Unknown';

export interface VM {
  /** The Workspace name this VM belongs to (the driver maps it to its own instance name). */
  name: string;
  state: VMState;
  /** IPv4 address reachable from the host; absent until the guest has one (DHCP). */
  ip?: string;
  /** Image template name it was created from, when the driver knows it. */
  image?: string;
  /** The built image (of an ImageTemplate) it was created from, when it was made from one. */
  build?: string;
  cpu?: number;
  memoryBytes?: number;
  /** The runtime's own words when state is Error. */
  message?: string;
  /** The cluster member it runs on, where the runtime is a cluster (Incus's `location`). */
  node?: string;
  /**
   * Set when the member the VM is on does not answer: the runtime cannot tell its state or act
   * on it until the member is back (state is Error, message says which member).
   */
  nodeUnreachable?: boolean;
  /** Set when its member is cordoned (draining): the controller moves it elsewhere unless spec.placement names that member. */
  nodeCordoned?: boolean;
}

/** What a running VM uses now, as the runtime counts it; a figure the runtime cannot tell is absent. */
export interface VMUsage {
  /** The Workspace name. */
  name: string;
  /** CPU time used since the VM started, seconds: a counter that starts again with the VM. */
  cpuSeconds?: number;
  /** Memory in use now, bytes. */
  memoryBytes?: number;
  /** The memory limit, bytes. */
  memoryLimitBytes?: number;
  /** Bytes used on the workspace's home volume. */
  homeUsedBytes?: number;
  /** Bytes received and sent on the VM's network interfaces since it started (counters). */
  networkRxBytes?: number;
  networkTxBytes?: number;
}

export interface CreateVMRequest {
  /** Workspace name. */
  name: string;
  /** Image template name (Workspace spec.image); the driver maps it to its runtime image through its image map. */
  image: string;
  /** The runtime image built for ImageTemplate `image` (its status.image): used instead of the image map. */
  build?: string;
  cpu: number;
  memoryBytes: number;
  /** Start it as part of creation (one operation where the runtime allows). */
  start: boolean;
  /** Attach the workspace's home (made first with `homes.ensure`) at `homes.path`. Only on runtimes with `homes`. */
  home?: boolean;
  /**
   * Where to place it on a clustered runtime: a member's name, or "@group" for a cluster group
   * (Workspace spec.placement, else the server's default); undefined: the runtime chooses.
   * Where the home exists already, the VM goes where its home is.
   */
  placement?: string;
}

export interface Resources {
  cpu: number;
  memoryBytes: number;
}

/** How a resources change was taken: in effect now, or kept by the runtime for the VM's next start. */
export type ResourcesApplied = 'now' | 'nextStart';

export interface ExecOptions {
  /** User and group ids to run as. Default 0 (root). */
  uid?: number;
  gid?: number;
  /** Working directory in the guest. */
  cwd?: string;
  env?: Record<string, string>;
  /** Longest the command may run before the driver gives up on it, seconds. Default 300. */
  timeoutSeconds?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Homes that outlive the VM: one runtime volume per workspace, mounted at `path`, kept when
 * the VM is stopped, deleted or recreated, deleted only by `delete`. Volumes carry the
 * Tidepool id like VMs; another Tidepool's are never listed or touched.
 */
/** Where a new home goes on a clustered runtime: beside the VM of this size that `placement` will place. */
export interface HomePlacement {
  /** As CreateVMRequest.placement. */
  placement?: string;
  cpu: number;
  memoryBytes: number;
}

export interface HomeVolumes {
  /** Where the home is mounted in the guest (/home/dev). */
  readonly path: string;
  /**
   * Makes the workspace's home unless it exists. A home made now starts as a copy of the home
   * of workspace `from` when given (a copy-on-write copy where the storage allows); a missing
   * source throws RuntimeError with reason SourceNotFound and makes nothing. An existing home
   * is kept as it is (never copied over): calling it again after a crash is safe. On a
   * clustered runtime a new home is made on the member its VM will be placed on (`where`: the
   * placement and the VM's size, which must fit there; a copy crosses members when its source
   * is elsewhere).
   */
  ensure(workspace: string, from?: string, where?: HomePlacement): Promise<{ created: boolean }>;
  /** Whether the workspace has a home. */
  exists(workspace: string): Promise<boolean>;
  /** Deletes the home; a missing one is not an error. Call after the VM is gone. */
  delete(workspace: string): Promise<void>;
  /** The workspaces that have a home of this Tidepool's (by Workspace name): how orphaned homes are found. */
  list?(): Promise<string[]>;
}

// The exec contract is shared with the API's exec endpoint: one definition, in specs/.
export type { ExecRequest, ExecSession };

export interface RuntimeDriver {
  readonly name: string;
  /**
   * Every VM that this Tidepool manages (marked with its id at creation), with state and IP,
   * in one call. VMs of other Tidepools and unmanaged ones are never listed.
   */
  list(): Promise<VM[]>;
  /**
   * One VM, looked at alone (its own state, never a listing of the host): what the controller
   * asks while a workspace starts or after the runtime reported it changed. Undefined when it
   * does not exist or is not this Tidepool's. Without it, the controller lists instead.
   */
  get?(name: string): Promise<VM | undefined>;
  /**
   * Creates the VM (and starts it when asked). Fails if it already exists. May return the VM
   * as created (with its IP when it has one already), which saves the controller a list.
   */
  create(req: CreateVMRequest): Promise<VM | undefined>;
  /** Starts a stopped VM; starting a running one is not an error. */
  start(name: string): Promise<void>;
  /** Stops gracefully, forcing after a timeout; stopping a stopped one is not an error. */
  stop(name: string): Promise<void>;
  /**
   * Moves the VM and its home to cluster member `node` (stopped, moved, started again when it
   * ran); without `node`, to the member the runtime would place a new VM on. Only clustered
   * runtimes have it; the VM's `node` says where it is now.
   */
  move?(name: string, node?: string): Promise<void>;
  /** The cluster's members ([] when the runtime is not a cluster). Only clustered runtimes have it. */
  nodes?(): Promise<Node[]>;
  /** Keeps new VMs off member `node` (on) or lets them back (off); NotFound for no such member. */
  cordon?(node: string, on: boolean): Promise<Node>;
  /**
   * Deletes the VM and its disk, stopping it first if needed; a missing VM is not an error.
   * The home (see `homes`) is kept: it goes only with `homes.delete`.
   */
  delete(name: string): Promise<void>;
  /** Reports VMs that changed behind Tidepool's back (by Workspace name), when the runtime can tell. Returns an unsubscribe. */
  subscribe?(onChange: (name: string) => void): () => void;
  /** An interactive command in a running VM (`tidepool exec`/`shell`): its streams as they come (Incus exec websockets). */
  openExec?(name: string, req: ExecRequest): Promise<ExecSession>;
  close?(): Promise<void>;

  // Optional capabilities: a runtime without one says so through the Workspace conditions.

  /** The runtime's own name of the workspace's VM (what a person types at its CLI). Default: the workspace name. */
  instanceName?(workspace: string): string;
  /** Homes on their own volumes. Without it, the home is on the VM's disk and goes with the VM. */
  readonly homes?: HomeVolumes;
  /**
   * Changes the VM's vCPUs and memory, running or not. 'now' when in effect at once; 'nextStart'
   * when the runtime keeps it for the next start (a running Tart VM). Without it, resources are
   * set only at creation.
   */
  updateResources?(name: string, resources: Resources): Promise<ResourcesApplied>;
  /** Runs a command in the running VM and waits for it (output recorded, no terminal). */
  exec?(name: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Resources held by the runtime's own instances that are no workspace's (a warm pool), one
   * entry per instance: counted against the capacity budget, never stopped for a workspace.
   */
  reserved?(): Resources[];
  /** Throws RuntimeError (UnknownImage, ImageNotFound) when a VM could not be made from image template `template`. */
  checkImage?(template: string): Promise<void>;
  /**
   * Builds image `req.image` from the base image by running the steps in an instance made from
   * it, and publishes it (copy-on-write where the storage allows). Throws ImageBuildError naming
   * the step and the package or script line that failed; an image of that name is never left
   * half made. Without it, ImageTemplates cannot be built (their status says so).
   */
  buildImage?(req: BuildImageRequest, report: BuildReport): Promise<void>;
  /** Deletes a built image; a missing one is not an error. Workspaces made from it keep running. */
  deleteImage?(image: string): Promise<void>;
  /** Whether a built image exists (a build recorded in the store may have been deleted behind Tidepool's back). */
  hasImage?(image: string): Promise<boolean>;
  /**
   * What every running VM of this Tidepool uses now (`tidepool top`, the metrics, the UI's
   * graphs), in as few runtime calls as it can. Without it, there are no usage figures.
   */
  usageAll?(): Promise<VMUsage[]>;
}

/** One ImageTemplate build: what to start from, what to add, and the name of the image to make. */
export interface BuildImageRequest {
  /** The ImageTemplate's name (for the build instance's name and the image's description). */
  template: string;
  /** The base image template name (the image map's), or the template whose `baseBuild` is given. */
  base: string;
  /** The built image of the base when the base is itself an ImageTemplate. */
  baseBuild?: string;
  /** Name of the image to make (an Incus alias); unique per build. */
  image: string;
  debianPackages: string[];
  npmPackages: string[];
  setup?: string;
}

/** The steps of a build, in order; a failure names one. */
export type BuildStep = 'base' | 'debianPackages' | 'npmPackages' | 'setup' | 'publish';

/** How a build tells where it is: `progress` for the status, `log` for the build log (whole lines). */
export interface BuildReport {
  progress(step: BuildStep, text: string): void;
  log(text: string): void;
}

/** Every reason a RuntimeError may carry (a CamelCase word for conditions), from all drivers. */
export const RUNTIME_ERROR_REASONS = [
  'RuntimeError',
  'InvalidConfig',
  'RuntimeUnavailable',
  'Timeout',
  'UnknownImage',
  'ImageNotFound',
  'NotFound',
  'NotRunning',
  'AlreadyExists',
  'NameConflict',
  'Conflict',
  'BadRequest',
  'Forbidden',
  'SourceNotFound',
  'BuildFailed',
  'InsufficientCapacity',
  // Incus
  'IncusError',
  'OperationFailed',
  // Tart: which `tart` command failed
  'TartError',
  'CloneFailed',
  'CreateFailed',
  'StartFailed',
  'StopFailed',
  'DeleteFailed',
] as const;
export type RuntimeErrorReason = (typeof RUNTIME_ERROR_REASONS)[number];

/** A failure the runtime reported, with its own message; `reason` is a CamelCase word for conditions. */
export class RuntimeError extends DriverError<RuntimeErrorReason> {
  constructor(
    message: string,
    reason: RuntimeErrorReason = 'RuntimeError',
    /** HTTP-like status from the runtime when it has one (Incus error_code). */
    readonly code?: number,
  ) {
    super(message, reason);
  }
}

/** A build step failed: which step, and which package or script line (`item`) when it can tell. */
export class ImageBuildError extends RuntimeError {
  constructor(
    message: string,
    readonly step: BuildStep,
    readonly item?: string,
  ) {
    super(message, 'BuildFailed');
  }
}
