// The controller: the work queue, the reconcilers and what they share.
export { startController } from './controller.js';
export type { CapacityOptions, Controller, ControllerOptions, Logger, Probe } from './types.js';
export { childLogger } from './types.js';
export { httpProbe } from './probe.js';
export { ROUTES_KEY, portKey, workspaceKey } from './keys.js';
export {
  TerminalError,
  controllerOf,
  type Reconcile,
  type ReconcileObserver,
  type ReconcileOutcome,
  type ReconcileRecord,
  type ReconcileRun,
  type Result,
} from './reconcile.js';
export { CPU_OVERCOMMIT, hostHeadroomBytes, resolveBudget, type Budget } from './capacity/index.js';
export { EventRecorder, REPORTING_CONTROLLER, type EventRecorderOptions, type Regarding } from './events/index.js';
export { FINALIZER } from './reconcilers/context.js';
export { desiredRouteTable } from './reconcilers/routes.js';
export * from './queue/index.js';
