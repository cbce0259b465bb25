// An undici Agent whose connections leave from one loopback address (all of 127/8 is local on
// Linux), so that a server sees several clients. undici 7 ignores `connect.localAddress`
// (every connection came from 127.0.0.1), so the socket is made here.
import { connect } from 'node:net';
import { Agent } from 'undici';

export function agentFrom(localAddress: string, opts: { connections?: number } = {}): Agent {
  return new Agent({
    ...opts,
    connect: (o, cb) => {
      const sock = connect({ host: o.hostname, port: Number(o.port), localAddress });
      sock.once('connect', () => cb(null, sock));
      sock.once('error', (err) => cb(err, null));
    },
  });
}
