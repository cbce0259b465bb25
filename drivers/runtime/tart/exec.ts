// An interactive command in a Tart VM: `tart exec [-i] [-t] VM COMMAND...` (Tart's guest
// agent), its stdin, stdout and stderr piped, its exit code the command's. `tart exec` takes
// no user, environment or window size: the environment goes in through `env`, the command
// runs as the VM's own user, and a resize is not passed on (the CLI has no way to).
import { spawn } from 'node:child_process';
import { ExecOutput } from '../exec-output.js';
import type { ExecRequest, ExecSession } from '../types.js';

export function tartExec(tartPath: string, env: Record<string, string>, vmName: string, req: ExecRequest): ExecSession {
  const vars = Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const command = vars.length ? ['env', ...vars, ...req.command] : req.command;
  const child = spawn(tartPath, ['exec', '-i', ...(req.tty ? ['-t'] : []), vmName, ...command], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output = new ExecOutput();
  child.stdout.on('data', (data: Buffer) => output.deliver('stdout', data));
  child.stderr.on('data', (data: Buffer) => output.deliver('stderr', data));
  child.stdin.on('error', () => undefined); // the command may end before reading all of it
  const exitCode = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
  });
  exitCode.catch(() => undefined);
  return {
    write(data) {
      if (!child.stdin.destroyed) child.stdin.write(data);
    },
    endInput() {
      if (!child.stdin.destroyed) child.stdin.end();
    },
    resize() {
      /* tart exec has no window size to set */
    },
    onOutput(cb) {
      output.listen(cb);
    },
    exitCode,
    kill() {
      child.kill('SIGKILL');
    },
  };
}
