// The route table as names in Tidepool's own DNS zone, and the hosts file that holds them.
// Caddy looks each request up by name (see ../caddy/config.ts):
//   {ws}.ws.ZONE.              the IDE of a routed workspace        -> its IP (port 8080)
//   {port}.{ws}.port.ZONE.     a routed Port                        -> its workspace's IP
//   {ws}.idle.ZONE.            a workspace that exists, not routed  -> 127.0.0.1 (the pages server)
//   {port}.{ws}.idleport.ZONE. a Port of such a workspace           -> 127.0.0.1
//   {ws}.up.ZONE., {port}.{ws}.upport.ZONE.  beside each routed name -> 127.0.0.1 (the pages
//                              server tells "routed, but refuses" from "idle" with them); not
//                              beside a workspace both routed and idle (starting: its IDE is
//                              not Ready yet, so a refusal is "not running yet")
//   alive.ZONE.                always there: "the resolver answers"
//   s{serial}.serial.ZONE.     which version of the file dnsmasq has read
import { sortRouteTable, type RouteTable } from '../types.js';

/** Under ".internal" (reserved for private use): never a public name, never forwarded. */
export const ZONE = 'tidepool.internal';
export const PAGES_IP = '127.0.0.1';
export const ALIVE_NAME = `alive.${ZONE}`;
export const serialName = (serial: string) => `s${serial}.serial.${ZONE}`;

const hostOf = (upstream: string) => upstream.slice(0, upstream.lastIndexOf(':')).replace(/^\[|\]$/g, '');

/** The hosts file for `table` (already normalized): one "ip name" line per name. */
export function hostsFile(table: RouteTable, serial: string): string {
  const lines = [
    `# Written by Tidepool; replaced as a whole on every route change.`,
    `${PAGES_IP} ${ALIVE_NAME} ${serialName(serial)}`,
  ];
  const starting = new Set(table.idle?.workspaces);
  for (const w of table.workspaces) {
    lines.push(`${hostOf(w.upstream)} ${w.name}.ws.${ZONE}`);
    if (!starting.has(w.name)) lines.push(`${PAGES_IP} ${w.name}.up.${ZONE}`);
  }
  for (const p of table.ports)
    lines.push(
      `${hostOf(p.upstream)} ${p.port}.${p.workspace}.port.${ZONE}`,
      `${PAGES_IP} ${p.port}.${p.workspace}.upport.${ZONE}`,
    );
  for (const w of table.idle?.workspaces ?? []) lines.push(`${PAGES_IP} ${w}.idle.${ZONE}`);
  for (const key of table.idle?.ports ?? []) {
    const [ws, port] = key.split('/');
    lines.push(`${PAGES_IP} ${port}.${ws}.idleport.${ZONE}`);
  }
  return `${lines.join('\n')}\n`;
}

const withPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The table a hosts file holds (IDE upstreams on `idePort`), and its serial; null when it is not one of ours. */
export function parseHostsFile(text: string, idePort: number): { table: RouteTable; serial: string } | null {
  const table: RouteTable = { workspaces: [], ports: [] };
  const idle = { workspaces: [] as string[], ports: [] as string[] };
  let serial: string | undefined;
  const suffix = `.${ZONE}`;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [ip, ...names] = line.split(/\s+/);
    for (const name of names) {
      if (!name.endsWith(suffix)) return null;
      let labels = name.slice(0, -suffix.length).split('.');
      const kind = labels[labels.length - 1];
      // A workspace of a namespace other than the default is named by two labels ("dev.team-a",
      // specs/object-key.ts): one more than the shapes below, joined back into one.
      const width =
        kind === 'ws' || kind === 'up' || kind === 'idle'
          ? 2
          : kind === 'port' || kind === 'upport' || kind === 'idleport'
            ? 3
            : 0;
      if (width && labels.length === width + 1)
        labels = [...labels.slice(0, width - 2), `${labels[width - 2]}.${labels[width - 1]}`, kind!];
      if (labels.length === 1 && kind === 'alive') continue;
      if (labels.length === 2 && kind === 'serial') serial = labels[0]!.slice(1);
      else if (labels.length === 2 && kind === 'ws')
        table.workspaces.push({ name: labels[0]!, upstream: withPort(ip!, idePort) });
      else if (labels.length === 3 && kind === 'port')
        table.ports.push({
          workspace: labels[1]!,
          port: Number(labels[0]),
          upstream: withPort(ip!, Number(labels[0])),
        });
      else if ((labels.length === 2 && kind === 'up') || (labels.length === 3 && kind === 'upport')) continue;
      else if (labels.length === 2 && kind === 'idle') idle.workspaces.push(labels[0]!);
      else if (labels.length === 3 && kind === 'idleport') idle.ports.push(`${labels[1]}/${labels[0]}`);
      else return null;
    }
  }
  if (serial === undefined) return null;
  if (idle.workspaces.length || idle.ports.length) table.idle = idle;
  return { table: sortRouteTable(table), serial };
}
