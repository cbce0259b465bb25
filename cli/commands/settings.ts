// tidepool settings export [-o FILE] / tidepool settings import -f FILE: the editor settings
// that follow you (VS Code's settings, keybindings, snippets and extension list), as one
// YAML or JSON document. Import replaces what is saved; workspaces made afterwards get it.
// They are a namespace's (one person's): your own, or with -n another's (admins).
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { SettingsProfile } from '../../specs/index.js';
import type { ApiClient } from '../client.js';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import { toJson, toYaml } from '../printers.js';

/** The settings of the namespace -n names, or the requester's own (the server decides which that is). */
const settingsPath = (client: ApiClient) =>
  client.namespace !== undefined
    ? `/api/v1/namespaces/${encodeURIComponent(client.namespace)}/settings`
    : '/api/v1/settings';

export function registerSettings(program: Command): void {
  const group = program
    .command('settings')
    .summary('export or import the editor settings that follow you into new workspaces');
  group
    .command('export')
    .summary('print (or write to a file) the saved editor settings')
    .option('-o, --output <format>', 'yaml (default) or json')
    .option('--file <path>', 'write to this file instead of stdout')
    .action(async (flags: { output?: string; file?: string }, cmd: Command) => {
      const format = flags.output ?? 'yaml';
      if (format !== 'json' && format !== 'yaml')
        throw new CliError(`--output must be 'yaml' or 'json', got "${format}"`);
      await runClient(cmd, async (ctx) => {
        const profile = await ctx.client.call<SettingsProfile>('GET', settingsPath(ctx.client));
        const text = format === 'json' ? toJson(profile) : toYaml(profile);
        if (flags.file) {
          await writeFile(flags.file, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
          ctx.io.err(
            `wrote the editor settings (${Object.keys(profile.files).length} files, ${profile.extensions.length} extensions) to ${flags.file}`,
          );
        } else ctx.out(text);
      });
    });
  group
    .command('import')
    .summary('replace the saved editor settings with a file made by export')
    .requiredOption('-f, --filename <path>', 'the file (YAML or JSON), - for stdin')
    .action(async (flags: { filename: string }, cmd: Command) => {
      const text = flags.filename === '-' ? await readStdin() : await readFile(flags.filename, 'utf8');
      let body: unknown;
      try {
        body = parse(text);
      } catch (err) {
        throw new CliError(`${flags.filename}: not YAML or JSON: ${(err as Error).message}`);
      }
      await runClient(cmd, async (ctx) => {
        const saved = await ctx.client.call<SettingsProfile>('PUT', settingsPath(ctx.client), {
          body: JSON.stringify(body),
          contentType: 'application/json',
        });
        ctx.out(
          `editor settings imported (${Object.keys(saved.files).length} files, ${saved.extensions.length} extensions)`,
        );
      });
    });
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
