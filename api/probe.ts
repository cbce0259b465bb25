// GET /api/v1/ports/{name}/probe: whether something answers on a Port right now (a TCP
// connect to the workspace's IP on that port, from the server). The UI shows it beside each
// Port; the Port's own status says only whether it is routed, not whether a server listens.
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION, objectKey, siblingKey } from '../specs/index.js';
import type { Store } from '../store/index.js';
import { ApiError } from './errors.js';
import { namespacePath, requestNamespace } from './namespaces.js';
import { NameParams, type TypeBoxProvider } from './params.js';

/** How long a connect may take before the port counts as not answering. */
const PROBE_TIMEOUT_MS = 1500;

export interface PortProbe {
  apiVersion: typeof API_VERSION;
  kind: 'PortProbe';
  workspace: string;
  port: number;
  /** True when a TCP connect to the workspace's IP on the port succeeded. */
  answering: boolean;
  /** For a person: what was tried and what happened. */
  message: string;
}

/** True when something accepts a TCP connection on host:port within the timeout. */
export function tcpAnswers(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const docs = {
  operationId: 'probePort',
  tags: ['Port'],
  summary: 'Whether something answers on the Port now',
  responses: { 200: { description: 'A PortProbe', content: { 'application/json': { schema: { type: 'object' } } } } },
};

export const probePlugin = fp(
  async (app: FastifyInstance, { store }: { store: Store }) => {
    const schema = { ...docs, params: NameParams };
    const paths = ['/api/v1/ports/:name/probe', `${namespacePath(':namespace')}/ports/:name/probe`];
    for (const path of paths)
      app.withTypeProvider<TypeBoxProvider>().get(path, { schema }, async (req, reply) => {
        const key = objectKey(requestNamespace(req), req.params.name);
        const port = store.get('Port', key);
        if (!port)
          throw new ApiError(404, 'NotFound', `ports "${req.params.name}" not found`, {
            name: req.params.name,
            kind: 'Port',
          });
        const workspace = port.spec.workspace as string;
        const n = port.spec.port as number;
        const ip = store.get('Workspace', siblingKey(key, workspace))?.status?.ip as string | undefined;
        const probe: PortProbe = ip
          ? (await tcpAnswers(ip, n))
            ? {
                apiVersion: API_VERSION,
                kind: 'PortProbe',
                workspace,
                port: n,
                answering: true,
                message: `Something answers on ${ip}:${n}.`,
              }
            : {
                apiVersion: API_VERSION,
                kind: 'PortProbe',
                workspace,
                port: n,
                answering: false,
                message: `Nothing answers on ${ip}:${n}: start a server on port ${n} in the workspace.`,
              }
          : {
              apiVersion: API_VERSION,
              kind: 'PortProbe',
              workspace,
              port: n,
              answering: false,
              message: `Workspace "${workspace}" has no IP address: it is not running.`,
            };
        return reply
          .type('application/json; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(JSON.stringify(probe));
      });
  },
  { name: 'tidepool-probe', fastify: '5.x' },
);
