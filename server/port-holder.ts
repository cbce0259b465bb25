// Who holds a TCP port, best effort, from /proc (Linux): the listening socket's inode from
// /proc/net/tcp and tcp6, then the process with that socket among its open files. Reading
// another user's /proc/PID/fd needs root; without it, or off Linux, the answer is undefined
// and the caller says only that the port is taken.
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface PortHolder {
  pid: number;
  /** Its command line, arguments joined by spaces (cut to 200 characters). */
  command: string;
}

const LISTEN = '0A';

/** The process listening on TCP `port` (any address), or undefined when it cannot be told. */
export async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  try {
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      const text = await readFile(table, 'utf8').catch(() => '');
      for (const inode of listeningInodes(text, port)) inodes.add(inode);
    }
    if (inodes.size === 0) return undefined;
    // /proc/net/tcp lists this network namespace's sockets, so only its processes can hold
    // one: a host full of containers is mostly processes of other namespaces, skipped with one
    // readlink each instead of one per open file. Newest first: a holder is usually recent.
    const ownNet = await readlink('/proc/self/ns/net').catch(() => undefined);
    const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).sort((a, b) => Number(b) - Number(a));
    for (const pid of pids) {
      if (ownNet && (await readlink(`/proc/${pid}/ns/net`).catch(() => ownNet)) !== ownNet) continue;
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m?.[1] && inodes.has(m[1])) return { pid: Number(pid), command: await commandOf(pid) };
      }
    }
  } catch {
    // Best effort: no /proc, or it changed under us.
  }
  return undefined;
}

/**
 * The inodes of sockets listening on `port` in one /proc/net/tcp* table. Each line:
 * `sl local_address rem_address st ... uid timeout inode`, addresses as HEXIP:HEXPORT.
 */
export function listeningInodes(table: string, port: number): string[] {
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (!local || f[3] !== LISTEN) continue;
    const hexPort = local.slice(local.lastIndexOf(':') + 1);
    const inode = f[9];
    if (Number.parseInt(hexPort, 16) === port && inode && inode !== '0') out.push(inode);
  }
  return out;
}

async function commandOf(pid: string): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const command = raw.split('\0').filter(Boolean).join(' ');
  return command.length > 200 ? `${command.slice(0, 197)}...` : command || '?';
}

/** " (held by pid 1234: python3 -m http.server 8080)", or "" when the holder is unknown. */
export async function describePortHolder(port: number): Promise<string> {
  const holder = await findPortHolder(port);
  return holder ? ` (held by pid ${holder.pid}: ${holder.command})` : '';
}
