// Orphans: an instance or a home volume that carries this Tidepool's id but that no Workspace
// declares (a store restored from an old backup, a Workspace lost with a damaged store). They
// are never deleted by the controller: stopped, kept, reported, and deleted only when a person
// asks (`tidepool orphans delete NAME`), or adopted again by a Workspace of the same name.
// Shared by the controller (which finds and deletes them), the API and the CLI.

/** One orphan, by the name of the Workspace it was made for. */
export interface Orphan {
  /** The Workspace name it was made for: a Workspace of this name adopts it again. */
  name: string;
  /** The runtime's own name of its instance (what a person types at the runtime's CLI). */
  instance: string;
  /** The instance's state, or absent when only the home is left. */
  state?: string;
  /** Whether a home volume of it is kept (on runtimes with homes of their own). */
  home: boolean;
}

/** What the API serves at /api/v1/orphans. */
export interface OrphanList {
  apiVersion: string;
  kind: 'OrphanList';
  items: Orphan[];
}

/** Implemented by the controller, used by the API: the only way an orphan is ever deleted. */
export interface OrphanService {
  list(): Promise<Orphan[]>;
  /** Deletes its instance and its home; NotFound when it is not an orphan, Conflict when a Workspace now declares it. */
  delete(name: string): Promise<Orphan>;
}
