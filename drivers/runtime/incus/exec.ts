// A command in a running instance through the exec API with recorded output (no websocket):
// the operation ends with the exit code and the paths of the stdout and stderr logs, which
// are read and then deleted.
import { RuntimeError, type ExecOptions, type ExecResult } from '../types.js';
import type { IncusClient } from './client.js';

interface ExecMetadata {
  return?: number;
  output?: Record<string, string>;
}

export async function execIn(
  client: IncusClient,
  instancePath: string,
  q: (path: string) => string,
  argv: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const body = {
    command: argv,
    environment: opts.env ?? {},
    'wait-for-websocket': false,
    interactive: false,
    'record-output': true,
    user: opts.uid ?? 0,
    group: opts.gid ?? 0,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  };
  const meta = await client.call<ExecMetadata>('POST', q(`${instancePath}/exec`), body, {
    waitSeconds: opts.timeoutSeconds ?? 300,
  });
  if (!meta || typeof meta.return !== 'number')
    throw new RuntimeError(`Incus exec in ${instancePath} ended without an exit code`, 'IncusError');
  const read = async (fd: string) => {
    const path = meta.output?.[fd];
    if (!path) return '';
    const text = await client.text(q(path)).catch(() => '');
    await client.call('DELETE', q(path)).catch(() => undefined);
    return text;
  };
  const [stdout, stderr] = await Promise.all([read('1'), read('2')]);
  return { exitCode: meta.return, stdout, stderr };
}
