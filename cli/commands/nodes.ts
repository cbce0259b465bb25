// tidepool nodes / cordon NODE / uncordon NODE / drain NODE: the members of the Incus cluster
// the server runs on. Like kubectl's: a cordon keeps new workspaces off a member; a drain
// cordons it and waits until the controller has moved every workspace on it elsewhere, with its
// home (stopped, moved, started again). A workspace that cannot move (spec.placement pins it
// there, no other member has room) is named with the reason its events give.
import type { Command } from 'commander';
import { lookupKind, type Node, type NodeList } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import { renderTable } from '../format.js';
import { parseTimeout } from '../waiter.js';

const nodePath = (name: string, verb: string) => `/api/v1/nodes/${encodeURIComponent(name)}/${verb}`;

function registerList(program: Command): void {
  program
    .command('nodes')
    .summary('the members of the Incus cluster: status, cordoned, groups')
    .action(async (_flags: unknown, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        const list = await ctx.client.call<NodeList>('GET', '/api/v1/nodes');
        const ws = (await ctx.client.list(lookupKind('workspace')!)).items as ApiObject[];
        const on = (n: string) => ws.filter((w) => w.status?.node === n).length;
        ctx.out(
          renderTable(
            ['NAME', 'STATUS', 'SCHEDULING', 'WORKSPACES', 'GROUPS'],
            list.items.map((n) => [
              n.name,
              n.status,
              n.cordoned ? 'Disabled' : 'Enabled',
              String(on(n.name)),
              n.groups.join(',') || '<none>',
            ]),
          ),
        );
      });
    });
}

function registerCordon(program: Command): void {
  for (const verb of ['cordon', 'uncordon'] as const) {
    program
      .command(verb)
      .summary(
        verb === 'cordon'
          ? 'keep new workspaces off a cluster member'
          : 'let new workspaces onto a cluster member again',
      )
      .argument('<NODE>', 'cluster member name')
      .action(async (name: string, _flags: unknown, cmd: Command) => {
        await runClient(cmd, async (ctx) => {
          await ctx.client.call<Node>('POST', nodePath(name, verb));
          ctx.out(`node/${name} ${verb}ed`);
        });
      });
  }
}

function registerDrain(program: Command): void {
  program
    .command('drain')
    .summary('cordon a cluster member and move its workspaces, with their homes, to other members')
    .argument('<NODE>', 'cluster member name')
    .option('--timeout <duration>', 'give up waiting after this long (the moves go on)', '10m')
    .action(async (name: string, flags: { timeout?: string }, cmd: Command) => {
      const timeout = parseTimeout(flags.timeout, '10m');
      await runClient(cmd, async (ctx) => {
        await ctx.client.call<Node>('POST', nodePath(name, 'cordon'));
        ctx.out(`node/${name} cordoned`);
        const info = lookupKind('workspace')!;
        const deadline = Date.now() + timeout;
        const moved = new Set<string>();
        let first: string[] | undefined;
        for (;;) {
          const items = (await ctx.client.list(info)).items as ApiObject[];
          const here = items.filter((w) => w.status?.node === name);
          first ??= here.map((w) => w.metadata.name);
          for (const w of items)
            if (first.includes(w.metadata.name) && w.status?.node !== name && !moved.has(w.metadata.name)) {
              moved.add(w.metadata.name);
              ctx.out(`workspace/${w.metadata.name} moved to ${w.status?.node ?? 'another member'}`);
            }
          const pinned = here.filter((w) => (w.spec as { placement?: string } | undefined)?.placement === name);
          const waiting = here.filter((w) => !pinned.includes(w));
          if (waiting.length === 0) {
            for (const w of pinned)
              ctx.io.err(`workspace/${w.metadata.name} cannot move: spec.placement pins it to ${name}`);
            if (pinned.length) throw new CliError(`node/${name} drained but for ${pinned.length} pinned workspace(s)`);
            ctx.out(`node/${name} drained`);
            return;
          }
          if (Date.now() >= deadline)
            throw new CliError(
              `node/${name}: still on it after ${flags.timeout}: ${waiting.map((w) => w.metadata.name).join(', ')} ` +
                '(see `tidepool describe workspace NAME` for why; the moves go on)',
            );
          await new Promise((r) => setTimeout(r, 1000));
        }
      });
    });
}

export function registerNodes(program: Command): void {
  registerList(program);
  registerCordon(program);
  registerDrain(program);
}
