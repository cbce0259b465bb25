// A namespace's use against its quota (specs/quota.ts), counted as admission counts it:
//   GET /api/v1/namespaces/{ns}/quotausage   one namespace (its person, or an admin)
//   GET /api/v1/quotausage                   the requester's own namespace, as a list of one;
//                                            ?allNamespaces=true (admins): every namespace that
//                                            has a workspace or a quota of its own
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  API_VERSION,
  DEFAULT_NAMESPACE,
  formatBytes,
  namespaceOf,
  type Quota,
  type QuotaUsage,
  type QuotaUsageList,
  type Workspace,
} from '../specs/index.js';
import type { Store } from '../store/index.js';
import { quotaFor, usedIn } from '../store/strategies/quota.js';
import { namespacePath, requestNamespace, wantsAllNamespaces } from './namespaces.js';

function usageOf(workspaces: Workspace[], quotas: Quota[], namespace: string): QuotaUsage {
  const q = quotaFor(quotas, namespace);
  const used = usedIn(workspaces, namespace);
  const limits = q
    ? {
        ...(q.spec.workspaces !== undefined ? { workspaces: q.spec.workspaces } : {}),
        ...(q.spec.cpu !== undefined ? { cpu: q.spec.cpu } : {}),
        ...(q.spec.memory !== undefined ? { memory: q.spec.memory } : {}),
      }
    : {};
  return {
    apiVersion: API_VERSION,
    kind: 'QuotaUsage',
    namespace,
    ...(q ? { quota: q.metadata.name } : {}),
    limits,
    used: { workspaces: used.workspaces, cpu: used.cpu, memory: formatBytes(used.memoryBytes) },
  };
}

export const quotaUsagePlugin = fp(
  async (app: FastifyInstance, { store }: { store: Store }) => {
    const read = () => ({ workspaces: store.list('Workspace').items, quotas: store.list('Quota').items });
    app.get(`${namespacePath(':namespace')}/quotausage`, async (req): Promise<QuotaUsage> => {
      const { workspaces, quotas } = read();
      return usageOf(workspaces, quotas, requestNamespace(req));
    });
    app.get(
      '/api/v1/quotausage',
      async (req: FastifyRequest<{ Querystring: { allNamespaces?: string } }>): Promise<QuotaUsageList> => {
        const { workspaces, quotas } = read();
        let namespaces = [requestNamespace(req)];
        if (wantsAllNamespaces(req, req.query.allNamespaces)) {
          const all = new Set([DEFAULT_NAMESPACE, ...workspaces.map(namespaceOf)]);
          for (const q of quotas) if (q.spec.namespace) all.add(q.spec.namespace);
          namespaces = [...all].sort();
        }
        return {
          apiVersion: API_VERSION,
          kind: 'QuotaUsageList',
          items: namespaces.map((ns) => usageOf(workspaces, quotas, ns)),
        };
      },
    );
  },
  { name: 'tidepool-quota-usage', fastify: '5.x' },
);
