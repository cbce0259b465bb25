// /api/v1/nodes: the members of the cluster the runtime is (an Incus cluster). GET lists them
// (status, cordoned, groups); POST /api/v1/nodes/{name}/cordon keeps new workspaces off one and
// makes the controller move its workspaces elsewhere with their homes (a drain; `tidepool drain`
// waits for it); POST .../uncordon lets new ones back. A runtime that is no cluster has none.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION, type Node, type NodeList, type NodeService } from '../specs/index.js';
import { errorMessage } from '../specs/errors.js';
import { ApiError, isStatusError } from './errors.js';
import { NameParams, type TypeBoxProvider } from './params.js';

/** Filled in once the runtime is up (the API starts before it). */
export interface NodesHolder {
  service?: NodeService;
  /** True until the runtime is up: a request meanwhile is told to retry (503). */
  starting?: boolean;
}

function serviceOf(holder: NodesHolder | undefined): NodeService {
  if (holder?.service) return holder.service;
  if (holder?.starting) throw new ApiError(503, 'ServiceUnavailable', 'the runtime is starting; try again shortly');
  throw new ApiError(501, 'NotImplemented', 'this runtime is not a cluster: it has no nodes to list, cordon or drain');
}

function runtimeFailure(err: unknown): never {
  if (isStatusError(err)) throw err;
  const e = err as { reason?: string };
  if (e.reason === 'NotFound') throw new ApiError(404, 'NotFound', errorMessage(err));
  throw new ApiError(502, 'RuntimeError', `the runtime failed: ${errorMessage(err)}`);
}

const tags = ['Node'];
const object = (description: string) => ({
  200: { description, content: { 'application/json': { schema: { type: 'object' } } } },
});

export const nodesPlugin = fp(
  async (app: FastifyInstance, { holder }: { holder: NodesHolder | undefined }) => {
    const r = app.withTypeProvider<TypeBoxProvider>();
    r.get(
      '/api/v1/nodes',
      { schema: { operationId: 'listNodes', tags, responses: object('A NodeList') } },
      async () => {
        const items = await serviceOf(holder).list().catch(runtimeFailure);
        return { apiVersion: API_VERSION, kind: 'NodeList', items } satisfies NodeList;
      },
    );
    for (const [verb, on] of [
      ['cordon', true],
      ['uncordon', false],
    ] as const) {
      const schema = { operationId: `${verb}Node`, tags, params: NameParams, responses: object('The Node') };
      r.post(`/api/v1/nodes/:name/${verb}`, { schema }, async (req): Promise<Node> => {
        return serviceOf(holder).cordon(req.params.name, on).catch(runtimeFailure);
      });
    }
  },
  { name: 'tidepool-nodes' },
);
