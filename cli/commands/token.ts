// tidepool token create NAME [--expires-in 720h] / list / revoke NAME: personal access tokens
// for scripts and CI (POST/GET/DELETE /api/v1/tokens). A token acts as the person who made it
// and is sent as `Authorization: Bearer tp_...`. It is printed once, at creation: the server
// keeps only its hash.
import type { Command } from 'commander';
import { parseDuration } from '../../specs/duration.js';
import type { TokenCreated, TokenList } from '../../specs/index.js';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import { renderTable } from '../format.js';
import { toJson, toYaml } from '../printers.js';

const checkOutput = (output: string | undefined) => {
  if (output && output !== 'json' && output !== 'yaml')
    throw new CliError(`--output must be 'yaml' or 'json', got "${output}"`);
};

export function registerToken(program: Command): void {
  const group = program
    .command('token')
    .summary('personal access tokens for scripts and CI: create, list, revoke')
    .description(
      'A personal access token acts as you (your namespace, your rights) without a browser: send it as ' +
        '"Authorization: Bearer <token>". It is shown once, when created; the server keeps only its hash. ' +
        'Revoking it refuses its next request at once.',
    );
  group
    .command('create')
    .summary('make a token; it is printed once')
    .argument('<NAME>', 'a name of yours for it (a-z, 0-9, -, _, .)')
    .option('--expires-in <duration>', 'it stops working after this long, e.g. 720h (default: never)')
    .option('-o, --output <format>', 'yaml or json (the token with its id and dates)')
    .action(async (name: string, flags: { expiresIn?: string; output?: string }, cmd: Command) => {
      checkOutput(flags.output);
      if (flags.expiresIn !== undefined && !(Number(parseDuration(flags.expiresIn)) > 0))
        throw new CliError(`--expires-in must be a duration such as 720h or 30m, got "${flags.expiresIn}"`);
      await runClient(cmd, async (ctx) => {
        const made = await ctx.client.call<TokenCreated>('POST', '/api/v1/tokens', {
          body: JSON.stringify({ name, ...(flags.expiresIn ? { expiresIn: flags.expiresIn } : {}) }),
          contentType: 'application/json',
        });
        if (flags.output === 'json') return ctx.out(toJson(made));
        if (flags.output === 'yaml') return ctx.out(toYaml(made));
        ctx.out(made.token);
        ctx.io.err(
          `token "${made.name}" created${made.expiresAt ? `, expires ${made.expiresAt}` : ''}: this is the only time it is shown`,
        );
      });
    });
  group
    .command('list', { isDefault: true })
    .summary('your tokens (names and dates, never the secrets)')
    .option('-o, --output <format>', 'yaml or json')
    .action(async (flags: { output?: string }, cmd: Command) => {
      checkOutput(flags.output);
      await runClient(cmd, async (ctx) => {
        const list = await ctx.client.call<TokenList>('GET', '/api/v1/tokens');
        if (flags.output === 'json') return ctx.out(toJson(list));
        if (flags.output === 'yaml') return ctx.out(toYaml(list));
        if (!list.items.length) return ctx.io.err('No tokens.');
        ctx.out(
          renderTable(
            ['NAME', 'ID', 'CREATED', 'EXPIRES'],
            list.items.map((t) => [t.name, t.id, t.createdAt, t.expiresAt ?? '<never>']),
          ),
        );
      });
    });
  group
    .command('revoke')
    .summary('revoke tokens: their next request gets 401')
    .argument('<NAMES...>', 'token names (or ids)')
    .action(async (names: string[], _flags: unknown, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        for (const name of names) {
          const s = await ctx.client.call<{ message?: string }>('DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`);
          ctx.out(s.message ?? `token ${name} revoked`);
        }
      });
    });
}
