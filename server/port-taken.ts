// A listen that failed because the port is taken, said plainly: which port, which flag sets
// it, and what holds it (best effort, from /proc). Caddy reports it in its own words inside
// its start-up log ("listen tcp :8080: bind: address already in use"); Node as EADDRINUSE.
import { parseListen } from '../api/config.js';
import { describePortHolder } from './port-holder.js';

export interface NamedListen {
  /** The flag that sets it, e.g. --app-port. */
  flag: string;
  /** The address as configured, e.g. ":8080" or "127.0.0.1:7080". */
  listen: string;
}

const CADDY_BIND = /listen tcp ([^\s]*?):(\d+): bind: address already in use/;

/** The port a Caddy start-up error says is taken, or undefined when it says something else. */
export function takenPortIn(message: string): number | undefined {
  const m = CADDY_BIND.exec(message);
  return m?.[2] ? Number(m[2]) : undefined;
}

/** "port 8080 (--app-port :8080) is already in use (held by pid 12: python3 -m http.server 8080); ..." */
export async function portTakenMessage(port: number, listens: NamedListen[]): Promise<string> {
  const named = listens.find((l) => {
    try {
      return parseListen(l.listen).port === port;
    } catch {
      return false;
    }
  });
  const which = named ? ` (${named.flag} ${named.listen})` : '';
  const flag = named?.flag ?? 'its flag';
  return `port ${port}${which} is already in use${await describePortHolder(port)}; stop what holds it, or choose another port with ${flag}`;
}
