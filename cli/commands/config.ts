// tidepool config get-contexts | current-context | use-context NAME | set-context NAME |
// delete-context NAME: the contexts of the client config file, as kubectl config does. Nothing
// here talks to a server; `tidepool login` is what signs a context in.
import type { Command } from 'commander';
import {
  CONTEXT_NAME,
  configFilePath,
  findContext,
  readConfigFile,
  withContext,
  writeConfigFile,
  type Context,
} from '../contexts-file.js';
import { globalFlags, processIo } from '../context.js';
import { normalizeServer } from '../config.js';
import { CliError } from '../errors.js';
import { renderTable } from '../format.js';

/** What a context signs in with, for the table (never the secret itself). */
export function authSummary(c: Context): string {
  const a = c.auth;
  if (a?.oidc) return a.oidc.idToken ? `oidc (${a.oidc.issuer})` : `oidc (${a.oidc.issuer}, signed out)`;
  if (a?.token) return 'token';
  if (a?.basic) return `basic (${a.basic.username})`;
  return '-';
}

export function registerConfig(program: Command): void {
  const group = program.command('config').summary('the contexts of the client config file (servers and sign-ins)');
  const path = (cmd: Command) => configFilePath(globalFlags(cmd).config);

  group
    .command('get-contexts')
    .summary('list the contexts; * marks the current one')
    .action(async (_flags: unknown, cmd: Command) => {
      const cfg = await readConfigFile(path(cmd));
      const rows = cfg.contexts.map((c) => [
        c.name === cfg.currentContext ? '*' : '',
        c.name,
        c.server,
        authSummary(c),
      ]);
      processIo.out(renderTable(['CURRENT', 'NAME', 'SERVER', 'AUTH'], rows));
    });

  group
    .command('current-context')
    .summary('print the current context')
    .action(async (_flags: unknown, cmd: Command) => {
      const file = path(cmd);
      const cfg = await readConfigFile(file);
      if (!cfg.currentContext) throw new CliError(`current-context is not set in ${file}`);
      processIo.out(cfg.currentContext);
    });

  group
    .command('use-context')
    .summary('make a context the current one')
    .argument('<name>', 'the context')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const file = path(cmd);
      const cfg = await readConfigFile(file);
      findContext(cfg, name, file);
      await writeConfigFile(file, { ...cfg, currentContext: name });
      processIo.out(`Switched to context "${name}".`);
    });

  group
    .command('set-context')
    .summary('create a context or change its server (its sign-in is kept unless the server changes)')
    .argument('<name>', 'the context')
    .option('--server <url>', 'the Tidepool API of this context')
    .option('--current', 'also make it the current context')
    .action(async (name: string, flags: { server?: string; current?: boolean }, cmd: Command) => {
      if (!CONTEXT_NAME.test(name))
        throw new CliError(
          `context name "${name}": letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
        );
      const file = path(cmd);
      const cfg = await readConfigFile(file);
      const old = cfg.contexts.find((c) => c.name === name);
      // The server of this subcommand's own --server (the global one also lands here).
      const server = flags.server ?? (cmd.optsWithGlobals() as { server?: string }).server;
      if (!old && !server) throw new CliError(`context "${name}" does not exist yet: give its --server`);
      const next: Context = { name, server: server ? normalizeServer(server) : old!.server };
      // A sign-in belongs to its server: a new server starts signed out.
      if (old?.auth && next.server === old.server) next.auth = old.auth;
      await writeConfigFile(file, {
        ...withContext(cfg, next),
        ...(flags.current ? { currentContext: name } : {}),
      });
      processIo.out(`Context "${name}" ${old ? 'modified' : 'created'}.`);
    });

  group
    .command('delete-context')
    .summary('remove a context and its sign-in')
    .argument('<name>', 'the context')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const file = path(cmd);
      const cfg = await readConfigFile(file);
      findContext(cfg, name, file);
      const { currentContext, ...rest } = cfg;
      await writeConfigFile(file, {
        ...rest,
        contexts: cfg.contexts.filter((c) => c.name !== name),
        ...(currentContext && currentContext !== name ? { currentContext } : {}),
      });
      processIo.out(`Deleted context "${name}" from ${file}.`);
    });
}
