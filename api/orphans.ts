// /api/v1/orphans: what this Tidepool made (an instance, a home volume) for a name that no
// Workspace declares. The controller keeps them, stopped; this is how a person sees them
// (GET) and deletes one (DELETE /api/v1/orphans/{name}: its instance and home, for good).
// Adopting one back needs no endpoint: apply a Workspace of that name.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION, type OrphanList, type OrphanService } from '../specs/index.js';
import { errorMessage } from '../specs/errors.js';
import { ApiError, isStatusError } from './errors.js';
import { identityOf } from './identity.js';
import { authorizeAdmin } from './namespaces.js';
import { NameParams, type TypeBoxProvider } from './params.js';

/** Filled in once the controller is up (the API starts before it). */
export interface OrphansHolder {
  service?: OrphanService;
  /** True until the controller is up: a request meanwhile is told to retry (503). */
  starting?: boolean;
}

function serviceOf(holder: OrphansHolder | undefined): OrphanService {
  if (holder?.service) return holder.service;
  if (holder?.starting) throw new ApiError(503, 'ServiceUnavailable', 'the controller is starting; try again shortly');
  throw new ApiError(501, 'NotImplemented', 'this server runs no controller (API only): there are no orphans to list');
}

/** A runtime failure (Incus refused the delete) is the runtime's own words, not an internal error. */
function runtimeFailure(err: unknown): never {
  if (isStatusError(err)) throw err;
  throw new ApiError(
    502,
    'RuntimeError',
    `the runtime failed: ${errorMessage(err)}; nothing more was deleted, try again`,
  );
}

const tags = ['Orphan'];
const object = (description: string) => ({
  200: { description, content: { 'application/json': { schema: { type: 'object' } } } },
});

export const orphansPlugin = fp(
  async (app: FastifyInstance, { holder }: { holder: OrphansHolder | undefined }) => {
    const r = app.withTypeProvider<TypeBoxProvider>();
    const list = { operationId: 'listOrphans', tags, responses: object('An OrphanList') };
    // Orphans are no namespace's (their Workspace is gone): an admin's business only.
    r.get('/api/v1/orphans', { schema: list }, async (req): Promise<OrphanList> => {
      authorizeAdmin(identityOf(req), 'list orphans');
      const items = await serviceOf(holder).list().catch(runtimeFailure);
      return { apiVersion: API_VERSION, kind: 'OrphanList', items };
    });
    const remove = { operationId: 'deleteOrphan', tags, params: NameParams, responses: object('A Status') };
    r.delete('/api/v1/orphans/:name', { schema: remove }, async (req) => {
      authorizeAdmin(identityOf(req), 'delete orphans');
      const orphan = await serviceOf(holder).delete(req.params.name).catch(runtimeFailure);
      return {
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Success',
        code: 200,
        message: `orphan "${orphan.name}" deleted (${[orphan.state ? `instance ${orphan.instance}` : '', orphan.home ? 'home' : ''].filter(Boolean).join(' and ')})`,
        details: { name: orphan.name, kind: 'orphans' },
      };
    });
  },
  { name: 'tidepool-orphans', fastify: '5.x' },
);
