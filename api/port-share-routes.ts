// The share link of a Port, for its owner (the person of its namespace) and admins:
//   GET  /api/v1/ports/{name}/share         -> {visibility, token, path}
//   POST /api/v1/ports/{name}/share/rotate  -> the same with a new token; the old one stops at once
// The link works only while spec.visibility is public; it is handed out whatever the visibility,
// so that the owner can copy it before making the Port public.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { objectKey, type Port } from '../specs/index.js';
import { notFound, timestamp, type Store } from '../store/index.js';
import { updatedBy } from '../store/ownership.js';
import { ApiError } from './errors.js';
import { identityOf, type Identity } from './identity.js';
import { namespacePath, requestNamespace } from './namespaces.js';
import { namespaceOfPort, visibilityOf } from './port-access.js';
import { SHARE_SALT_ANNOTATION, newShareSalt, sharePath, shareToken } from './port-share.js';

/** Who rotates a token, in the Port's managed fields. */
const SHARE_MANAGER = 'tidepool-share';

export interface PortShare {
  visibility: string;
  token: string;
  /** The link's path on the workspace (or preview) server. */
  path: string;
}

function mayManage(identity: Identity, port: Port): boolean {
  return identity.admin || identity.namespace === namespaceOfPort(port);
}

function shareOf(key: Buffer, port: Port): PortShare {
  const token = shareToken(key, port);
  return { visibility: visibilityOf(port), token, path: sharePath(port, token) };
}

export const portSharePlugin = fp(
  async (app: FastifyInstance, opts: { store: Store; key: Buffer }) => {
    const { store, key } = opts;
    const owned = (identity: Identity, name: string): Port => {
      const port = store.get('Port', name);
      if (!port) throw notFound('ports', name);
      if (!mayManage(identity, port))
        throw new ApiError(
          403,
          'Forbidden',
          `ports "${name}" is forbidden: only its owner and admins see its share link`,
        );
      return port;
    };
    // The Port by its key: on today's path the requester's namespace, or the path's (api/namespaces.ts).
    const keyOfRequest = (req: FastifyRequest<{ Params: { name: string } }>) =>
      objectKey(requestNamespace(req), req.params.name);
    for (const prefix of ['/api/v1', namespacePath(':namespace')]) {
      app.get<{ Params: { name: string } }>(`${prefix}/ports/:name/share`, async (req, reply) =>
        reply.header('Cache-Control', 'no-store').send(shareOf(key, owned(identityOf(req), keyOfRequest(req)))),
      );
      app.post<{ Params: { name: string } }>(`${prefix}/ports/:name/share/rotate`, async (req, reply) => {
        const identity = identityOf(req);
        const portKey = keyOfRequest(req);
        owned(identity, portKey);
        const next = await store.transaction((tx) => {
          const cur = tx.get('Port', portKey);
          if (!cur) throw notFound('ports', portKey);
          const rotated: Port = {
            ...cur,
            metadata: {
              ...cur.metadata,
              annotations: { ...cur.metadata.annotations, [SHARE_SALT_ANNOTATION]: newShareSalt() },
            },
          };
          rotated.metadata.managedFields = updatedBy(cur, rotated, SHARE_MANAGER, timestamp(store.now()));
          return tx.update(rotated);
        });
        return reply.header('Cache-Control', 'no-store').send(shareOf(key, next));
      });
    }
  },
  { name: 'tidepool-port-share', fastify: '5.x' },
);
