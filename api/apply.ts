// POST /api/v1/apply: every object of a multi-document YAML or JSON body created or updated
// (store/apply does the work), with dry-run and applyset pruning; 405 for other methods.
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION } from '../specs/index.js';
import { badRequest, isStoreError, type Store } from '../store/index.js';
import { applyDocuments, objectDocuments, parseDocuments, type ApplyOptions } from '../store/apply/index.js';
import { JSON_TYPES, YAML_TYPES, mediaType, parseJson, unsupportedMediaType } from './body.js';
import { errorResponses, json, ref } from './openapi.js';
import { identityOf } from './identity.js';
import { authorizeClusterWrite, authorizeNamespace, managerOf, namespacePath, requestNamespace } from './namespaces.js';
import { ApplyQuery, isTrue, type TypeBoxProvider } from './params.js';
import { rest405 } from './status.js';

/**
 * On /api/v1/namespaces/{ns}/apply every object goes into that namespace (one naming another is
 * refused); on /api/v1/apply an object without a namespace goes into the requester's own. Either
 * way, an object in a namespace its person may not write is 403 and nothing is written.
 */
function applyOptions(req: FastifyRequest, q: Static<typeof ApplyQuery>): ApplyOptions {
  // The schema allows only these: true, All, all, server, 1, or false, None, none, empty.
  const dryRun = q.dryRun !== undefined && ['true', 'All', 'all', 'server', '1'].includes(q.dryRun);
  const who = identityOf(req);
  const onlyNamespace = (req.params as { namespace?: string } | undefined)?.namespace !== undefined;
  return {
    dryRun,
    prune: isTrue(q.prune),
    allowEmptyPrune: isTrue(q.allowEmptyPrune),
    ...(q.applyset !== undefined && q.applyset !== '' ? { applyset: q.applyset } : {}),
    fieldManager: managerOf(req, q),
    namespace: requestNamespace(req),
    onlyNamespace,
    checkNamespace: (ns) => authorizeNamespace(who, ns),
    checkClusterKind: (info) => authorizeClusterWrite(who, info),
  };
}

async function apply(store: Store, text: string, type: string, options: ApplyOptions) {
  if (!(JSON_TYPES as readonly string[]).includes(type))
    return (await applyDocuments(store, parseDocuments([{ text }]), options)).results;
  // JSON is applied from JSON.parse (the YAML parser takes seconds per MiB, blocking the
  // server); only when it is refused is the text read again by the YAML parser, for the
  // line and column of every problem. A refused apply wrote nothing, so trying again is safe.
  const value = parseJson(text);
  try {
    return (await applyDocuments(store, objectDocuments([value]), options)).results;
  } catch (err) {
    if (!isStoreError(err, 'Invalid', 'BadRequest')) throw err;
    return (await applyDocuments(store, parseDocuments([{ text }]), options)).results;
  }
}

const docs = {
  operationId: 'apply',
  tags: ['Apply'],
  description:
    'Creates or updates every object of a multi-document YAML or JSON body (an object, an array, or a List). Every document is validated before any is written.',
  requestBody: {
    required: true,
    content: {
      'application/yaml': { schema: { type: 'string' } },
      'application/json': { schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } },
    },
  },
  responses: {
    200: { description: 'What happened to each object', content: json(ref('ApplyResult')) },
    ...errorResponses(400, 401, 409, 413, 415, 422),
  },
};

export const applyPlugin = fp(
  async (app: FastifyInstance, opts: { store: Store }) => {
    const { store } = opts;
    const accepted: string[] = [...JSON_TYPES, ...YAML_TYPES];
    for (const path of ['/api/v1/apply', `${namespacePath(':namespace')}/apply`]) {
      app
        .withTypeProvider<TypeBoxProvider>()
        .post(path, { schema: { ...docs, querystring: ApplyQuery } }, async (req, reply) => {
          const options = applyOptions(req, req.query);
          const type = mediaType(req.headers['content-type']);
          if (req.body === undefined || req.body === null)
            throw badRequest('a request body (YAML or JSON manifests) is required');
          if (!accepted.includes(type)) throw unsupportedMediaType(type, accepted);
          const results = await apply(store, String(req.body), type, options);
          return reply
            .type('application/json; charset=utf-8')
            .send(JSON.stringify({ apiVersion: API_VERSION, kind: 'ApplyResult', dryRun: options.dryRun, results }));
        });
      rest405(app, path, ['POST']);
    }
  },
  { name: 'tidepool-apply', fastify: '5.x' },
);
