// What /openapi.json says of each resource route beyond its parameters: operation ids, bodies
// and responses, per kind. The parameters come from the routes' own schemas (params.ts).
import type { KindInfo } from '../specs/index.js';
import { errorResponses, json, ref } from './openapi.js';

/** One table: the OpenAPI fields of each operation on kind `k`, keyed by operation. */
export function resourceDocs(k: KindInfo) {
  const tags = [k.kind];
  const obj = ref(k.kind);
  const body = { required: true, content: { ...json(obj), 'application/yaml': { schema: obj } } };
  const answers = (code: number, description: string, ...errors: number[]) => ({
    [code]: { description, content: json(obj) },
    ...errorResponses(...errors),
  });
  const read = (operationId: string) => ({ operationId, tags, responses: answers(200, 'The object', 401, 404) });
  return {
    list: {
      operationId: `list${k.kind}`,
      tags,
      summary: `List or watch ${k.plural}`,
      responses: {
        200: {
          description: `The ${k.kind} list, or a watch stream`,
          content: { ...json(ref(`${k.kind}List`)), 'text/event-stream': { schema: { type: 'string' } } },
        },
        ...errorResponses(400, 401, 410),
      },
    },
    read: read(`read${k.kind}`),
    readStatus: read(`read${k.kind}Status`),
    create: {
      operationId: `create${k.kind}`,
      tags,
      requestBody: body,
      responses: answers(201, 'Created', 400, 401, 409, 413, 415, 422),
    },
    replace: {
      operationId: `replace${k.kind}`,
      tags,
      requestBody: body,
      responses: answers(200, 'Replaced', 400, 401, 404, 409, 413, 415, 422),
    },
    patch: {
      operationId: `patch${k.kind}`,
      tags,
      description: 'JSON merge patch (RFC 7386).',
      requestBody: {
        required: true,
        content: {
          'application/merge-patch+json': { schema: { type: 'object' } },
          'application/json': { schema: { type: 'object' } },
        },
      },
      responses: answers(200, 'Patched', 400, 401, 404, 409, 413, 415, 422),
    },
    delete: {
      operationId: `delete${k.kind}`,
      tags,
      requestBody: { required: false, content: json(ref('DeleteOptions')) },
      responses: {
        200: {
          description: 'The object, with deletionTimestamp set while finalizers remain, or as it was when removed',
          content: json(obj),
        },
        ...errorResponses(401, 404, 409),
      },
    },
    replaceStatus: {
      operationId: `replace${k.kind}Status`,
      tags,
      description:
        'Writes status only: the body is the object; only its status (and metadata.resourceVersion as a precondition) is used.',
      requestBody: { required: true, content: json(obj) },
      responses: answers(200, 'Updated', 400, 401, 404, 409, 415, 422),
    },
  };
}
