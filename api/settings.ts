// /api/v1/settings: the editor settings that follow the user (specs/settings.ts), as
// `tidepool settings export` reads them (GET) and `tidepool settings import` replaces them
// (PUT, validated like any resource: a wrong field is a 422 naming it). Workspaces made after an
// import get them; a workspace that stops or goes merges its newer files in.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Value } from '@sinclair/typebox/value';
import { SettingsProfile } from '../specs/index.js';
import { errorMessage } from '../specs/errors.js';
import { invalid, SettingsFileError, type SettingsFile } from '../store/index.js';
import { JSON_TYPES, parseObjectBody, YAML_TYPES } from './body.js';
import { ApiError } from './errors.js';
import type { TypeBoxProvider } from './params.js';

const tags = ['Settings'];
const json = (description: string) => ({
  200: { description, content: { 'application/json': { schema: { type: 'object' } } } },
});

function damaged(err: unknown): never {
  if (err instanceof SettingsFileError) throw new ApiError(500, 'InternalError', err.message);
  throw err;
}

export const settingsPlugin = fp(
  async (app: FastifyInstance, { settings }: { settings: SettingsFile }) => {
    const r = app.withTypeProvider<TypeBoxProvider>();
    r.get(
      '/api/v1/settings',
      { schema: { operationId: 'readEditorSettings', tags, responses: json('The saved EditorSettings') } },
      async () => settings.read().catch(damaged),
    );
    r.put(
      '/api/v1/settings',
      {
        schema: {
          operationId: 'replaceEditorSettings',
          tags,
          responses: json('The saved EditorSettings'),
        },
      },
      async (req) => {
        const body = parseObjectBody(req.body, req.headers['content-type'], [...JSON_TYPES, ...YAML_TYPES]);
        const causes = [...Value.Errors(SettingsProfile, body)].slice(0, 20).map((e) => ({
          field: e.path.replace(/^\//, '').replace(/\//g, '.') || '(body)',
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${e.message}`,
        }));
        if (causes.length) throw invalid('EditorSettings', undefined, causes);
        const next = { ...(body as SettingsProfile), updated: new Date().toISOString(), source: 'import' };
        try {
          await settings.update(() => next);
        } catch (err) {
          throw new ApiError(500, 'InternalError', `the settings could not be saved: ${errorMessage(err)}`);
        }
        return next;
      },
    );
  },
  { name: 'tidepool-settings', fastify: '5.x' },
);
