// tidepool port share NAME / tidepool port rotate-token NAME: the share link of a Port (it
// opens the Port without sign-in while spec.visibility is public), and a new one in place of
// the old, which stops working at once. Only the Port's owner and admins get it.
import type { Command } from 'commander';
import type { ApiClient } from '../client.js';
import { runClient } from '../context.js';
import { lookupKind } from '../../specs/index.js';

interface PortShare {
  visibility: string;
  token: string;
  path: string;
}

/** The workspace server's base URL, as the UI is told it; undefined when the server does not say. */
async function workspaceBase(client: ApiClient, server: string): Promise<string | undefined> {
  try {
    const c = await client.call<{ workspaceBaseUrl?: string; workspacePort?: number }>('GET', '/app/config.json');
    if (c?.workspaceBaseUrl) return c.workspaceBaseUrl.replace(/\/+$/, '');
    if (typeof c?.workspacePort === 'number') {
      const u = new URL(server);
      return `${u.protocol}//${u.hostname}:${c.workspacePort}`;
    }
  } catch {
    // A server without the UI: the path alone is printed.
  }
  return undefined;
}

function printShare(out: (t: string) => void, share: PortShare, base: string | undefined): void {
  out(base ? `${base}${share.path}` : share.path);
  if (share.visibility !== 'public')
    out(`(visibility is ${share.visibility}: the link opens the Port only once spec.visibility is public)`);
}

export function registerPort(program: Command): void {
  const group = program.command('port').summary("a Port's share link (spec.visibility: public)");
  group
    .command('share')
    .summary('print the share link of a Port')
    .argument('<name>', 'the Port')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        const share = await ctx.client.call<PortShare>('GET', ctx.client.pathOf(lookupKind('port')!, name, 'share'));
        printShare((t) => ctx.out(t), share, await workspaceBase(ctx.client, ctx.config.server));
      });
    });
  group
    .command('rotate-token')
    .summary('make a new share link for a Port; the old one stops working at once')
    .argument('<name>', 'the Port')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        const share = await ctx.client.call<PortShare>(
          'POST',
          ctx.client.pathOf(lookupKind('port')!, name, 'share/rotate'),
        );
        ctx.io.err(`port/${name}: the share token was rotated; the old link no longer opens it`);
        printShare((t) => ctx.out(t), share, await workspaceBase(ctx.client, ctx.config.server));
      });
    });
}
