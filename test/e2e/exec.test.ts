// `tidepool exec` and `tidepool shell` against the real Incus, through the real binary and a
// real `tidepool serve`: the command's output and exit code come back, stdin goes in, the user
// is dev (uid 1000) unless --user root, a terminal gets the size of the caller's, and a shell
// run through a pty (`script`) runs a command whose output is seen. Instances carry a Tidepool
// id written before serve starts; afterAll deletes them and their homes by it and ends the serve by its pid.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type Served } from '../cli/helpers.js';
import { requireOrSkip } from '../incus/helpers.js';
import { oneWorkspace, type OneWorkspace } from './one-workspace.js';

const run = await requireOrSkip('test/e2e/exec');
let one: OneWorkspace | undefined;
let _served: Served | undefined;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], input?: string) => one!.cli(args, input);

/** Runs `tidepool ARGS` under a pseudo-terminal of the given size (util-linux `script`), feeding `input`. */
function underPty(
  args: string[],
  input: string,
  size = { cols: 123, rows: 45 },
): Promise<{ code: number | null; out: string }> {
  const inner = `stty cols ${size.cols} rows ${size.rows}; ${BIN} ${args.map((a) => `'${a}'`).join(' ')}; echo "[exit=$?]"`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', inner, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    // The shell needs a moment to print its prompt before it reads.
    setTimeout(() => child.stdin.write(input), 1500);
  });
}

beforeAll(async () => {
  if (!run) return;
  one = await oneWorkspace('exec', 'ex');
  _served = one.served;
  env = one.env;
}, 150_000);

afterAll(async () => {
  await one?.close();
});

describe.runIf(run)('exec', () => {
  it("returns the command's stdout, stderr and exit code, as dev by default", async () => {
    const r = await cli(['exec', 'ex', '--', 'sh', '-c', 'echo out-$((6*7)); echo err >&2; id -u; exit 7']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out-42\n1000\n');
    expect(r.stderr).toBe('err\n');
  });

  it('--user root runs as root; an unknown user is a 400', async () => {
    expect((await cli(['exec', '--user', 'root', 'ex', '--', 'id', '-u'])).stdout).toBe('0\n');
    const bad = await cli(['exec', '--user', 'mallory', 'ex', '--', 'true']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('user must be dev or root');
  });

  it('-i passes stdin through, to its end', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n');
    const r = await cli(['exec', '-i', 'ex', '--', 'sh', '-c', 'wc -l; echo done'], `${lines}\n`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toEqual(['5000', 'done']);
  });

  it('a command that does not exist exits 127; the effect of a command is visible inside the container', async () => {
    expect((await cli(['exec', 'ex', '--', '/no/such/command'])).code).toBe(127);
    expect((await cli(['exec', 'ex', '--', 'sh', '-c', 'echo written > /tmp/exec-proof'])).code).toBe(0);
    const check = await cli(['exec', '--user', 'root', 'ex', '--', 'cat', '/tmp/exec-proof']);
    expect(check.stdout).toBe('written\n');
  });

  it('an unknown or stopped workspace is refused with a Status', async () => {
    const missing = await cli(['exec', 'nobody', '--', 'true']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): workspaces "nobody" not found');
  });
});

describe.runIf(run)('shell', () => {
  it("through a pty: the terminal has the caller's size, a command runs and its output is seen, the exit code comes back", async () => {
    const r = await underPty(['shell', 'ex'], 'echo "size=$(stty size) tty=$(tty)"; exit 5\n');
    expect(r.out).toContain('size=45 123 tty=/dev/pts/');
    expect(r.out).toContain('[exit=5]');
  });
});
