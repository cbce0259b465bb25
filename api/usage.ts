// GET /api/v1/usage: what the running workspaces use (`tidepool top`, the UI's bars and
// graphs), from the server's sampler: `?workspace=NAME` for one, `&history=true` for its last
// hour of CPU and memory.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UsageList, UsageService } from '../specs/usage.js';
import { ApiError } from './errors.js';
import { identityOf } from './identity.js';
import { objectKey, splitKey } from '../specs/index.js';

/** Filled in once the runtime is up (the API starts before it). */
export interface UsageHolder {
  service?: UsageService;
  /** True until the runtime is up: a request meanwhile is told to retry (503). */
  starting?: boolean;
}

interface UsageQuery {
  workspace?: string;
  history?: string;
}

export async function usageRoutes(app: FastifyInstance, opts: { holder?: UsageHolder | undefined }): Promise<void> {
  app.get('/api/v1/usage', async (req: FastifyRequest<{ Querystring: UsageQuery }>): Promise<UsageList> => {
    const service = opts.holder?.service;
    if (!service) {
      if (opts.holder?.starting)
        throw new ApiError(503, 'ServiceUnavailable', 'the runtime is starting; try again shortly');
      throw new ApiError(
        501,
        'NotImplemented',
        'this server has no runtime usage to tell (API only, or a runtime that cannot tell it)',
      );
    }
    const { workspace, history } = req.query;
    if (history !== undefined && history !== 'true' && history !== 'false')
      throw new ApiError(400, 'BadRequest', `history must be true or false, got "${history}"`);
    // Usage is by workspace key (specs/object-key.ts): a person sees their own namespace's, an admin every one.
    const who = identityOf(req);
    const list = await service.list({
      history: history === 'true',
      ...(workspace ? { name: objectKey(who.namespace, workspace) } : {}),
    });
    if (who.admin) return list;
    return { ...list, items: list.items.filter((u) => splitKey(u.name).namespace === who.namespace) };
  });
}
