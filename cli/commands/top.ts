// tidepool top: what each running workspace uses now (like kubectl top pod), from the
// server's sampler (GET /api/v1/usage): busiest first, `-w` to print it again every sample.
// One namespace's, as kubectl's: your own, -n's, or with -A every one's (admins) with a
// NAMESPACE column.
import type { Command } from 'commander';
import type { UsageList } from '../../specs/usage.js';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import { renderTable } from '../format.js';
import type { ApiClient } from '../client.js';
import { TOP_SORTS, topHeader, topRows, type TopSort } from '../top-table.js';

interface TopFlags {
  sortBy?: string;
  watch?: boolean;
}

/** The usage path of the namespace the client addresses (-n, -A, or the requester's own). */
function usagePath(client: ApiClient, name: string | undefined): string {
  const base =
    client.namespace !== undefined && !client.allNamespaces
      ? `/api/v1/namespaces/${encodeURIComponent(client.namespace)}/usage`
      : '/api/v1/usage';
  const query = new URLSearchParams();
  if (name) query.set('workspace', name);
  else if (client.allNamespaces) query.set('allNamespaces', 'true');
  return query.size ? `${base}?${query}` : base;
}

export function registerTop(program: Command): void {
  program
    .command('top')
    .summary('CPU, memory, home disk and network of each running workspace, busiest first')
    .description(
      'What each running workspace uses, as the server last sampled it (every 10 s by default, serve --usage-interval): ' +
        'CPU in millicores over the last interval and as a share of its vCPUs, memory against its limit, the size of ' +
        'its home, network bytes per second, and when it was last used through the proxy.',
    )
    .argument('[NAME]', 'one workspace')
    .option('--sort-by <column>', `sort by ${TOP_SORTS.join(', ')} (default cpu)`)
    .option('-w, --watch', 'print it again after every sample (Ctrl-C ends)')
    .action(async (name: string | undefined, flags: TopFlags, cmd: Command) => {
      const sort = (flags.sortBy ?? 'cpu') as TopSort;
      if (!TOP_SORTS.includes(sort))
        throw new CliError(`--sort-by must be one of ${TOP_SORTS.join(', ')}, got "${flags.sortBy}"`);
      await runClient(cmd, async (ctx) => {
        if (name && ctx.client.allNamespaces)
          throw new CliError(`-A shows every namespace; to see workspace "${name}", name its namespace with -n`);
        const path = usagePath(ctx.client, name);
        const every = ctx.client.allNamespaces && !name;
        for (let first = true; first || flags.watch; first = false) {
          const list = await ctx.client.call<UsageList>('GET', path);
          if (!first) ctx.out('');
          if (list.items.length) ctx.out(renderTable(topHeader(every), topRows(list, sort, Date.now(), every)));
          else ctx.io.err(name ? `workspace "${name}" is not running` : 'No workspace is running.');
          if (flags.watch) await new Promise((r) => setTimeout(r, Math.max(1, list.intervalSeconds) * 1000));
        }
      });
    });
}
