// /api/v1/settings: the editor settings that follow the user (specs/settings.ts), as
// `tidepool settings export` reads them (GET) and `tidepool settings import` replaces them
// (PUT, validated like any resource: a wrong field is a 422 naming it). Workspaces made after an
// import get them; a workspace that stops or goes merges its newer files in. They are a
// namespace's (one person's): /api/v1/settings is the requester's own namespace,
// /api/v1/namespaces/{ns}/settings names one (the requester's, or any for an admin; 403 otherwise).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Value } from '@sinclair/typebox/value';
import { SettingsProfile } from '../specs/index.js';
import { errorMessage } from '../specs/errors.js';
import { type EditorSettings, invalid, SettingsFileError } from '../store/index.js';
import { JSON_TYPES, parseObjectBody, YAML_TYPES } from './body.js';
import { ApiError } from './errors.js';
import { requestNamespace } from './namespaces.js';
import { NamespaceParams, type TypeBoxProvider } from './params.js';

const tags = ['Settings'];
const json = (description: string) => ({
  200: { description, content: { 'application/json': { schema: { type: 'object' } } } },
});

function damaged(err: unknown): never {
  if (err instanceof SettingsFileError) throw new ApiError(500, 'InternalError', err.message);
  throw err;
}

/** The routes under `prefix`: /api/v1 (the requester's namespace) or /api/v1/namespaces/:namespace. */
function settingsRoutes(app: FastifyInstance, settings: EditorSettings, prefix: string, ids: string) {
  const r = app.withTypeProvider<TypeBoxProvider>();
  const params = prefix.includes(':namespace') ? { params: NamespaceParams } : {};
  r.get(
    `${prefix}/settings`,
    {
      schema: { operationId: `read${ids}EditorSettings`, tags, ...params, responses: json('The saved EditorSettings') },
    },
    async (req) => settings.of(requestNamespace(req)).read().catch(damaged),
  );
  r.put(
    `${prefix}/settings`,
    {
      schema: {
        operationId: `replace${ids}EditorSettings`,
        tags,
        ...params,
        responses: json('The saved EditorSettings'),
      },
    },
    async (req) => {
      const file = settings.of(requestNamespace(req));
      const body = parseObjectBody(req.body, req.headers['content-type'], [...JSON_TYPES, ...YAML_TYPES]);
      const causes = [...Value.Errors(SettingsProfile, body)].slice(0, 20).map((e) => ({
        field: e.path.replace(/^\//, '').replace(/\//g, '.') || '(body)',
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${e.message}`,
      }));
      if (causes.length) throw invalid('EditorSettings', undefined, causes);
      const next = { ...(body as SettingsProfile), updated: new Date().toISOString(), source: 'import' };
      try {
        await file.update(() => next);
      } catch (err) {
        throw new ApiError(500, 'InternalError', `the settings could not be saved: ${errorMessage(err)}`);
      }
      return next;
    },
  );
}

export const settingsPlugin = fp(
  async (app: FastifyInstance, { settings }: { settings: EditorSettings }) => {
    settingsRoutes(app, settings, '/api/v1', '');
    settingsRoutes(app, settings, '/api/v1/namespaces/:namespace', 'Namespaced');
  },
  { name: 'tidepool-settings', fastify: '5.x' },
);
