// The Port step of /authz: for a proxied request to a Port, the decision of ./port-access.ts
// with the Port as the store has it now, the share tokens the proxy forwarded, and the
// identity the login gate sets. A public Port's valid token passes without credentials (and
// the answer tells the proxy to set the share cookie); anything else signs in first.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FORWARDED_URI_HEADER, SET_SHARE_COOKIE_HEADER, SHARE_HEADER } from '../specs/index.js';
import type { Store } from '../store/index.js';
import { ApiError } from './errors.js';
import { identityOf } from './identity.js';
import { decidePortAccess, portTargetOf, uncleanPath } from './port-access.js';
import { shareCookie, shareTokenMatches } from './port-share.js';

const headerOf = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * Answers /authz for a request to a Port and resolves true, or resolves false for any other
 * request (the UI, an IDE), which the caller signs in as before. `signIn` is the login gate's
 * check (it throws 401 or 429).
 */
export function portAuthz(store: Store, key: Buffer) {
  return async (req: FastifyRequest, reply: FastifyReply, signIn: () => Promise<void>): Promise<boolean> => {
    const uri = headerOf(req, FORWARDED_URI_HEADER);
    const target = portTargetOf(uri);
    if (!target) return false;
    // Judged by how it is written, a path the proxy cleans could be another Port or an IDE.
    if (uncleanPath(uri!))
      throw new ApiError(
        400,
        'BadRequest',
        'Bad Request: the path has dot segments, empty segments or encoded slashes',
      );
    const port = store.portsOf(target.workspace).find((p) => p.spec.port === target.port);
    const tokens = {
      pathTokenMatches: !!port && shareTokenMatches(key, port, target.pathToken),
      cookieTokenMatches: !!port && shareTokenMatches(key, port, headerOf(req, SHARE_HEADER)),
    };
    let decision = decidePortAccess({ port, identity: undefined, ...tokens });
    if (!decision.allow && decision.needSignIn) {
      await signIn();
      decision = decidePortAccess({ port, identity: identityOf(req), ...tokens });
    }
    if (!decision.allow) throw new ApiError(403, 'Forbidden', decision.needSignIn ? 'Forbidden' : decision.message);
    if (decision.setShareCookie) {
      const secure = headerOf(req, 'x-forwarded-proto') === 'https';
      reply.header(SET_SHARE_COOKIE_HEADER, shareCookie(target.workspace, target.port, target.pathToken!, secure));
    }
    reply.code(204).send();
    return true;
  };
}
