// What the running workspaces use (`tidepool top`, the UI's bars and graphs), from the server's
// sampler, one namespace at a time as every namespaced list is (api/namespaces.ts):
//   GET /api/v1/namespaces/{ns}/usage   that namespace's (its person's, or any for an admin)
//   GET /api/v1/usage                   the requester's own namespace (`default` on a single-user
//                                       install: every workspace, as before namespaces);
//                                       ?allNamespaces=true every namespace (admins only)
// `?workspace=NAME` for one of the namespace's, `&history=true` for its last hour of CPU and
// memory. Each item names its workspace and, outside the default namespace, the namespace.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UsageList, UsageService, WorkspaceUsage } from '../specs/usage.js';
import { DEFAULT_NAMESPACE, objectKey, splitKey } from '../specs/index.js';
import { ApiError } from './errors.js';
import { namespacePath, requestNamespace, wantsAllNamespaces } from './namespaces.js';

/** Filled in once the runtime is up (the API starts before it). */
export interface UsageHolder {
  service?: UsageService;
  /** True until the runtime is up: a request meanwhile is told to retry (503). */
  starting?: boolean;
}

interface UsageQuery {
  workspace?: string;
  history?: string;
  allNamespaces?: string;
}

function serviceOf(holder: UsageHolder | undefined): UsageService {
  if (holder?.service) return holder.service;
  if (holder?.starting) throw new ApiError(503, 'ServiceUnavailable', 'the runtime is starting; try again shortly');
  throw new ApiError(
    501,
    'NotImplemented',
    'this server has no runtime usage to tell (API only, or a runtime that cannot tell it)',
  );
}

/** A sampled item (named by its workspace's key) as the API shows it: its name, and its namespace when not the default. */
function shown(u: WorkspaceUsage): WorkspaceUsage {
  const { namespace, name } = splitKey(u.name);
  return { ...u, name, ...(namespace !== DEFAULT_NAMESPACE ? { namespace } : {}) };
}

export async function usageRoutes(app: FastifyInstance, opts: { holder?: UsageHolder | undefined }): Promise<void> {
  const handler = async (req: FastifyRequest<{ Querystring: UsageQuery }>): Promise<UsageList> => {
    const service = serviceOf(opts.holder);
    const { workspace, history, allNamespaces } = req.query;
    if (history !== undefined && history !== 'true' && history !== 'false')
      throw new ApiError(400, 'BadRequest', `history must be true or false, got "${history}"`);
    const every = wantsAllNamespaces(req, allNamespaces);
    if (every && workspace)
      throw new ApiError(
        400,
        'BadRequest',
        "workspace names one namespace's workspace: ask for its namespace, not allNamespaces",
      );
    // Before the sampler is asked: a person naming someone else's namespace is refused (403), not shown an empty list.
    const namespace = every ? undefined : requestNamespace(req);
    const list = service.list({
      history: history === 'true',
      ...(workspace && namespace ? { name: objectKey(namespace, workspace) } : {}),
    });
    const items = every ? list.items : list.items.filter((u) => splitKey(u.name).namespace === namespace);
    return { ...list, items: items.map(shown) };
  };
  app.get('/api/v1/usage', handler);
  app.get(`${namespacePath(':namespace')}/usage`, handler);
}
