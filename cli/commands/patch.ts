// tidepool patch TYPE NAME -p PATCH [--type merge]: a JSON merge patch (RFC 7386), as
// `kubectl patch --type merge`. The patch may be YAML or JSON; --patch-file reads it.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { errorMessage } from '../../specs/errors.js';
import { runClient } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { parseTargets, refName } from '../kinds.js';
import { toJson, toYaml } from '../printers.js';

interface PatchFlags {
  patch?: string;
  patchFile?: string;
  type?: string;
  output?: string;
  dryRun?: string;
}

export function registerPatch(program: Command): void {
  program
    .command('patch')
    .summary('change fields of an object with a merge patch')
    .description(
      'Applies a JSON merge patch to each named object (null removes a field).\n\n' +
        'Examples:\n  tidepool patch ws alice --type merge -p \'{"spec":{"resources":{"cpu":4}}}\'\n  tidepool patch workspace/alice -p "spec: {running: false}"',
    )
    .argument('<TYPE_AND_NAMES...>', 'TYPE NAME... or TYPE/NAME...')
    .option('-p, --patch <patch>', 'the patch, JSON or YAML')
    .option('--patch-file <file>', 'read the patch from a file')
    .option('--type <type>', 'patch type: merge (the only one Tidepool takes)', 'merge')
    .option('-o, --output <format>', 'print the patched object: json, yaml or name')
    .action(async (args: string[], flags: PatchFlags, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        if (flags.type !== 'merge') {
          throw new CliError(
            `--type must be "merge" (a JSON merge patch); "${flags.type}" patches are not supported by Tidepool`,
          );
        }
        if ((flags.patch === undefined) === (flags.patchFile === undefined))
          throw new CliError('must specify exactly one of --patch or --patch-file');
        const text = flags.patch ?? readFileSync(flags.patchFile!, 'utf8');
        let patch: unknown;
        try {
          patch = parse(text);
        } catch (err) {
          throw new CliError(`unable to parse "${text}": ${errorMessage(err)}`);
        }
        if (!patch || typeof patch !== 'object' || Array.isArray(patch))
          throw new CliError('a merge patch must be an object, e.g. {"spec":{"running":false}}');
        for (const t of parseTargets(args, { verb: 'patch' })) {
          if (!t.names.length) throw new CliError('resource(s) were provided, but no name was specified');
          for (const name of t.names) {
            try {
              const before = await ctx.client.get(t.info, name);
              const after = await ctx.client.mergePatch(t.info, name, patch);
              if (flags.output === 'json') ctx.out(toJson(after));
              else if (flags.output === 'yaml') ctx.out(toYaml(after));
              else if (flags.output === 'name') ctx.out(refName(t.info, name));
              else
                ctx.out(
                  `${refName(t.info, name)} ${after.metadata.resourceVersion === before.metadata.resourceVersion ? 'patched (no change)' : 'patched'}`,
                );
            } catch (err) {
              if (err instanceof ServerError) ctx.report(err);
              else throw err;
            }
          }
        }
      });
    });
}
