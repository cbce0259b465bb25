// Nodes: the members of the cluster the runtime is (an Incus cluster), as Tidepool shows and
// manages them. Not resources (nothing to apply): a member is Incus's, and so is whether it
// takes new instances. Cordoning one keeps new workspaces off it; draining one also moves its
// workspaces elsewhere with their homes (the controller does the moves). Shared by the API,
// the CLI and the server (which implements NodeService with the runtime and the controller).

/** One cluster member. */
export interface Node {
  name: string;
  /** Incus's word for it: Online, Offline, Evacuated, ... */
  status: string;
  /** Whether new workspaces are kept off it (Incus's scheduler.instance=manual). */
  cordoned: boolean;
  /** Its cluster groups. */
  groups: string[];
}

/** What the API serves at /api/v1/nodes. */
export interface NodeList {
  apiVersion: string;
  kind: 'NodeList';
  items: Node[];
}

/** Implemented by the server over the runtime; NotFound for a member that does not exist. */
export interface NodeService {
  list(): Promise<Node[]>;
  /** Keeps new workspaces off the member (on) or lets them back (off); draining follows from it. */
  cordon(name: string, on: boolean): Promise<Node>;
}
