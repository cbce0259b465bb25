// tidepool edit TYPE NAME: opens the object in $EDITOR (TIDEPOOL_EDITOR, then EDITOR, then
// vi) as YAML and saves what you change with an update conditional on the resourceVersion
// you edited. As kubectl does: an unchanged file cancels; an invalid change reopens the
// editor with the server's error on top; a conflict (someone changed it meanwhile) keeps
// your version in a file and says so.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { errorMessage } from '../../specs/errors.js';
import type { ApiObject } from '../client.js';
import { runClient } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { parseTargets, refName } from '../kinds.js';
import { toYaml } from '../printers.js';

const HEADER = [
  "# Please edit the object below. Lines beginning with a '#' will be ignored,",
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
];

export function registerEdit(program: Command): void {
  program
    .command('edit')
    .summary('edit an object in your editor')
    .description(
      'Opens each named object as YAML in $TIDEPOOL_EDITOR, $EDITOR or vi, and saves it when you close the editor.',
    )
    .argument('<TYPE_AND_NAMES...>', 'TYPE NAME... or TYPE/NAME...')
    .action(async (args: string[], _flags: unknown, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        const dir = mkdtempSync(join(tmpdir(), 'tidepool-edit-'));
        for (const t of parseTargets(args, { verb: 'edit' })) {
          if (!t.names.length) throw new CliError('resource(s) were provided, but no name was specified');
          if (!t.info.userWritable)
            throw new CliError(`${t.info.plural} are written by the server only and cannot be edited`);
          for (const name of t.names) {
            let original: ApiObject;
            try {
              original = await ctx.client.get(t.info, name);
            } catch (err) {
              if (err instanceof ServerError) {
                ctx.report(err);
                continue;
              }
              throw err;
            }
            const file = join(dir, `${t.info.singular}-${name}.yaml`);
            let body = toYaml(original);
            let errors: string[] = [];
            for (;;) {
              writeFileSync(
                file,
                [...HEADER, ...errors.map((e) => `# ${e}`), ...(errors.length ? ['#'] : []), body].join('\n'),
              );
              openEditor(file);
              const edited = readFileSync(file, 'utf8')
                .split('\n')
                .filter((l) => !l.startsWith('#'))
                .join('\n');
              if (!edited.trim()) {
                ctx.io.err('Edit cancelled, no changes made.');
                break;
              }
              // Saved again without fixing the reported error: kubectl gives up the same way.
              if (errors.length && edited.trim() === body.trim()) {
                ctx.report(new CliError('Edit cancelled, no valid changes were saved.'));
                break;
              }
              let obj: ApiObject;
              try {
                obj = parse(edited) as ApiObject;
              } catch (err) {
                errors = [`The edited file had a syntax error: ${errorMessage(err).split('\n')[0]}`];
                body = edited;
                continue;
              }
              if (JSON.stringify(obj) === JSON.stringify(original)) {
                ctx.io.err('Edit cancelled, no changes made.');
                break;
              }
              if (obj?.metadata?.name !== name) {
                errors = [`metadata.name: the name cannot be changed (was "${name}")`];
                body = edited;
                continue;
              }
              try {
                await ctx.client.call('PUT', ctx.client.pathOf(t.info, name), { body: JSON.stringify(obj) });
                ctx.out(`${refName(t.info, name)} edited`);
                break;
              } catch (err) {
                if (!(err instanceof ServerError)) throw err;
                if (err.code === 422 || err.code === 400) {
                  errors = [
                    `${t.info.plural} "${name}" was not valid:`,
                    ...(err.causes.length
                      ? err.causes.map((c) => `* ${c.field ?? ''}: ${c.message}`)
                      : [`* ${err.message}`]),
                  ];
                  body = edited;
                  continue;
                }
                ctx.io.err(`error: ${t.info.plural} "${name}" could not be patched: ${err.message}`);
                if (err.code === 409) {
                  const kept = join(dir, `${t.info.singular}-${name}.edited.yaml`);
                  writeFileSync(kept, edited);
                  ctx.io.err(
                    `Run \`tidepool apply -f ${kept}\` or edit again to try this update again.\nA copy of your changes has been stored to "${kept}"`,
                  );
                }
                ctx.report(new CliError('Edit cancelled, no valid changes were saved.'));
                break;
              }
            }
          }
        }
      });
    });
}

function openEditor(file: string): void {
  const editor = process.env.TIDEPOOL_EDITOR || process.env.EDITOR || 'vi';
  // The editor command may carry arguments ("code --wait"); the shell splits it as users expect.
  const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' });
  if (r.status !== 0)
    throw new CliError(`the editor "${editor}" exited with ${r.status ?? r.signal}; nothing was saved`);
}
