// The share link of a Port, for its owner (the person of its namespace) and admins:
//   GET  /api/v1/ports/{name}/share         -> {visibility, token, path}
//   POST /api/v1/ports/{name}/share/rotate  -> the same with a new token; the old one stops at once
// The link works only while spec.visibility is public; it is handed out whatever the visibility,
// so that the owner can copy it before making the Port public.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Port } from '../specs/index.js';
import { notFound, timestamp, type Store } from '../store/index.js';
import { updatedBy } from '../store/ownership.js';
import { ApiError } from './errors.js';
import { identityOf, type Identity } from './identity.js';
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
    app.get<{ Params: { name: string } }>('/api/v1/ports/:name/share', async (req, reply) =>
      reply.header('Cache-Control', 'no-store').send(shareOf(key, owned(identityOf(req), req.params.name))),
    );
    app.post<{ Params: { name: string } }>('/api/v1/ports/:name/share/rotate', async (req, reply) => {
      const identity = identityOf(req);
      owned(identity, req.params.name);
      const next = await store.transaction((tx) => {
        const cur = tx.get('Port', req.params.name);
        if (!cur) throw notFound('ports', req.params.name);
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
  },
  { name: 'tidepool-port-share', fastify: '5.x' },
);
