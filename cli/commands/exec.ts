// tidepool exec WORKSPACE [-i] [-t] [--user root] -- COMMAND [ARGS...] and tidepool shell
// WORKSPACE: a command (or a login shell) inside a workspace, through the API's exec
// WebSocket, as `kubectl exec` runs one in a pod: -i passes stdin, -t gives it a terminal
// (raw mode, window size followed), and the command's exit code is tidepool's.
import type { Command } from 'commander';
import WebSocket from 'ws';
import { lookupKind } from '../../specs/index.js';
import { ApiClient } from '../client.js';
import { globalFlags } from '../context.js';
import { authorizationOf, resolveClientConfig, type ClientConfig } from '../config.js';
import { CliError, ConnectionError, ServerError, statusFromReply } from '../errors.js';
import { errorLines } from '../report.js';
import { namespaceFlags } from '../namespace.js';

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

interface ExecFlags {
  stdin?: boolean;
  tty?: boolean;
  user?: string;
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .summary('run a command in a workspace')
    .description(
      'Runs COMMAND inside the workspace as its dev user (in its home), or as root with --user root. ' +
        "Exits with the command's exit code.\n\nExamples:\n  tidepool exec alice -- ls -la\n  tidepool exec -it alice -- bash\n  echo hi | tidepool exec -i alice -- cat",
    )
    .argument('<WORKSPACE>', 'workspace name (workspace/NAME also works)')
    .argument('<COMMAND...>', 'the command and its arguments, after --')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'give the command a terminal')
    .option('-u, --user <user>', 'dev (default) or root', 'dev')
    .action(async (ws: string, command: string[], flags: ExecFlags, cmd: Command) => {
      process.exitCode = await runExec(cmd, ws, command, flags);
    });

  program
    .command('shell')
    .summary('an interactive shell in a workspace')
    .description(
      'Opens a login shell (bash, else sh) in the workspace as its dev user, or as root with --user root; like `tidepool exec -it WORKSPACE -- bash -l`.',
    )
    .argument('<WORKSPACE>', 'workspace name')
    .option('-u, --user <user>', 'dev (default) or root', 'dev')
    .action(async (ws: string, flags: { user?: string }, cmd: Command) => {
      const shell = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi'];
      process.exitCode = await runExec(cmd, ws, shell, {
        stdin: true,
        tty: true,
        ...(flags.user ? { user: flags.user } : {}),
      });
    });
}

async function runExec(cmd: Command, arg: string, command: string[], flags: ExecFlags): Promise<number> {
  let config: ClientConfig | undefined;
  try {
    config = await resolveClientConfig(globalFlags(cmd));
    const name = arg.replace(/^(workspaces?|ws)\//, '');
    if (!command.length) throw new CliError('you must specify at least one command for the workspace, after --');
    const tty = flags.tty === true && process.stdin.isTTY === true && process.stdout.isTTY === true;
    if (flags.tty && !tty)
      process.stderr.write('Unable to use a TTY - input is not a terminal or the right kind of file\n');
    const { namespace } = namespaceFlags(cmd);
    return await bridge(config, name, command, {
      tty,
      stdin: flags.stdin === true,
      user: flags.user ?? 'dev',
      ...(namespace !== undefined ? { namespace } : {}),
    });
  } catch (err) {
    for (const l of errorLines(err, config ? { config } : {})) process.stderr.write(`${l}\n`);
    return 1;
  }
}

function bridge(
  config: ClientConfig,
  name: string,
  command: string[],
  o: { tty: boolean; stdin: boolean; user: string; namespace?: string },
): Promise<number> {
  const url = new URL(`${config.server}${ApiClient.path(lookupKind('workspace')!, name, undefined, o.namespace)}/exec`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const c of command) url.searchParams.append('command', c);
  url.searchParams.set('user', o.user);
  if (o.tty) {
    url.searchParams.set('tty', 'true');
    url.searchParams.set('width', String(process.stdout.columns || 80));
    url.searchParams.set('height', String(process.stdout.rows || 24));
    if (process.env.TERM) url.searchParams.set('term', process.env.TERM);
  }
  const authorization = authorizationOf(config);
  const headers: Record<string, string> = authorization ? { authorization } : {};

  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    let exit: number | undefined;
    let failure: string | undefined;
    const restore: (() => void)[] = [];
    const cleanup = () => {
      for (const r of restore.splice(0)) r();
    };

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        reject(new ServerError(res.statusCode ?? 500, statusFromReply(res.statusCode ?? 500, parsed, body)));
      });
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        err.code
          ? new ConnectionError(config.server, err.code === 'ECONNREFUSED' ? 'connection refused' : err.message)
          : err,
      );
    });
    const send = (channel: number, data: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
    };

    ws.on('open', () => {
      if (o.tty) {
        process.stdin.setRawMode(true);
        restore.push(() => process.stdin.setRawMode(false));
        const onResize = () =>
          send(
            CHANNEL.resize,
            Buffer.from(JSON.stringify({ width: process.stdout.columns, height: process.stdout.rows })),
          );
        process.stdout.on('resize', onResize);
        restore.push(() => process.stdout.off('resize', onResize));
      }
      if (o.stdin || o.tty) {
        const onData = (d: Buffer) => send(CHANNEL.stdin, d);
        const onEnd = () => send(CHANNEL.close, Buffer.from([CHANNEL.stdin]));
        process.stdin.on('data', onData);
        process.stdin.once('end', onEnd);
        // Paused is not enough for a terminal: its handle would keep the process alive after the command ended.
        restore.push(() => {
          process.stdin.off('data', onData);
          process.stdin.off('end', onEnd);
          process.stdin.pause();
          if (process.stdin.isTTY) process.stdin.destroy();
        });
      } else {
        send(CHANNEL.close, Buffer.from([CHANNEL.stdin]));
      }
    });
    ws.on('message', (raw: Buffer) => {
      const channel = raw[0];
      const body = raw.subarray(1);
      if (channel === CHANNEL.stdout) process.stdout.write(body);
      else if (channel === CHANNEL.stderr) process.stderr.write(body);
      else if (channel === CHANNEL.status) {
        const st = JSON.parse(body.toString('utf8')) as { exitCode?: number; error?: string };
        if (typeof st.exitCode === 'number') exit = st.exitCode;
        else failure = st.error ?? 'the command ended without an exit code';
      }
    });
    ws.on('close', () => {
      cleanup();
      if (exit !== undefined) resolve(exit);
      else
        reject(
          new CliError(
            failure
              ? `exec in workspace ${name}: ${failure}`
              : `the connection to the server closed before the command ended`,
          ),
        );
    });
  });
}
