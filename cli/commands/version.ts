// tidepool version: the client's version and the server's (from GET /version), as kubectl
// prints them; --client skips the server.
import type { Command } from 'commander';
import { runClient, processIo } from '../context.js';
import { toJson, toYaml } from '../printers.js';
import { CliError } from '../errors.js';
import { TIDEPOOL_VERSION } from '../../specs/index.js';

export interface VersionInfo {
  gitVersion: string;
  platform: string;
  nodeVersion: string;
}

export const clientVersion = (): VersionInfo => ({
  gitVersion: `v${TIDEPOOL_VERSION}`,
  platform: `${process.platform}/${process.arch}`,
  nodeVersion: process.version,
});

export function registerVersion(program: Command): void {
  program
    .command('version')
    .summary("the client's and the server's version")
    .option('--client', 'only the client version (no server needed)')
    .option('-o, --output <format>', 'yaml or json')
    .action(async (flags: { client?: boolean; output?: string }, cmd: Command) => {
      if (flags.output && flags.output !== 'json' && flags.output !== 'yaml') {
        throw new CliError(`--output must be 'yaml' or 'json', got "${flags.output}"`);
      }
      const print = (doc: { clientVersion: VersionInfo; serverVersion?: VersionInfo }) => {
        if (flags.output === 'json') return processIo.out(toJson(doc));
        if (flags.output === 'yaml') return processIo.out(toYaml(doc));
        processIo.out(`Client Version: ${doc.clientVersion.gitVersion}`);
        if (doc.serverVersion) processIo.out(`Server Version: ${doc.serverVersion.gitVersion}`);
      };
      if (flags.client) return print({ clientVersion: clientVersion() });
      await runClient(cmd, async (ctx) => {
        const doc: { clientVersion: VersionInfo; serverVersion?: VersionInfo } = { clientVersion: clientVersion() };
        try {
          doc.serverVersion = await ctx.client.call<VersionInfo>('GET', '/version');
        } finally {
          print(doc); // the client's version is printed even when the server cannot be reached
        }
      });
    });
}
