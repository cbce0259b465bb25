// What serve logs about the Caddy driver once it is up: where each server listens, the
// processes, and where the CA to trust is (TLS internal) or how the certificate comes (ACME).
// The composition root logs these lines as they are, without knowing the driver.
import type { CaddyProxy } from './options.js';
import type { TlsSettings } from './tls.js';

export interface CaddyLogLine {
  fields: { [key: string]: unknown };
  message: string;
}

export interface CaddyListens {
  appListen: string;
  workspaceListen: string;
  previewListen: string;
  tls?: TlsSettings;
}

/** The start-up log lines of a started Caddy driver. */
export function describeCaddy(proxy: CaddyProxy, s: CaddyListens): CaddyLogLine[] {
  const lines: CaddyLogLine[] = [
    {
      fields: {
        app: s.appListen,
        workspaces: s.workspaceListen,
        previews: s.previewListen,
        admin: proxy.adminUrl,
        caddyPid: proxy.pid,
        dnsmasqPid: proxy.dnsmasqPid,
        adopted: proxy.adopted,
        ...(s.tls ? { tls: s.tls.mode, tlsNames: s.tls.names } : {}),
      },
      message: `Caddy serves the UI and API on ${s.appListen}, the workspaces on ${s.workspaceListen} and their Ports on ${s.previewListen}`,
    },
  ];
  if (proxy.caCertPath) {
    lines.push({
      fields: { caCert: proxy.caCertPath, tlsNames: s.tls?.names },
      message: `TLS by Caddy's own CA (not installed in this host's trust store): trust ${proxy.caCertPath} in your browser, or curl --cacert ${proxy.caCertPath}`,
    });
  } else if (s.tls?.mode === 'acme') {
    lines.push({
      fields: { tlsNames: s.tls.names },
      message: `TLS by ACME for ${s.tls.names.join(', ')}: Caddy gets the certificate once port 80 or 443 of this host is reachable at that name`,
    });
  }
  return lines;
}
