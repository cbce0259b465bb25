// Tidepool's own answers on the workspace and preview ports, as Caddy handlers: one line of
// text for curl, a small HTML page for a browser (Accept: text/html). Names in them come from
// vars or headers that only ever hold [a-z0-9-] (the path matchers and the pages server check).
import type { Json } from './json.js';

export type PageKind = 'ide' | 'port';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function html(title: string, text: string, ui: string | undefined): string {
  const link = ui ? ` <a href="${ui}">Open Tidepool</a> to see why and what to do.` : '';
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}</style></head>' +
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}${link}</p></body></html>\n`
  );
}

/**
 * A static_response subroute answering `status`: HTML when the client asks for it, else `text`
 * (plus where the UI is, when `ui` is given). Placeholders in `text` and `ui` are Caddy's.
 */
export function page(status: number, title: string, text: string, ui?: string): Json {
  const headers = (type: string) => ({
    'Content-Type': [type],
    'Cache-Control': ['no-store'],
    'X-Content-Type-Options': ['nosniff'],
  });
  return {
    handler: 'subroute',
    routes: [
      {
        match: [{ header: { Accept: ['*text/html*'] } }],
        handle: [
          {
            handler: 'static_response',
            status_code: status,
            headers: headers('text/html; charset=utf-8'),
            body: html(title, text, ui),
          },
        ],
        terminal: true,
      },
      {
        handle: [
          {
            handler: 'static_response',
            status_code: status,
            headers: headers('text/plain; charset=utf-8'),
            body: `${status}: ${text}${ui ? ` (Tidepool: ${ui})` : ''}\n`,
          },
        ],
      },
    ],
  };
}

/** The texts, by page and kind; `ws` and `port` are placeholders of the caller's choosing. */
export const texts = {
  unknown: (kind: PageKind, ws: string, port: string) =>
    kind === 'ide'
      ? { title: 'No such workspace', text: `There is no workspace "${ws}" on this Tidepool.` }
      : {
          title: 'No such port',
          text: `Workspace "${ws}" has no Port ${port} registered (a Port with spec.workspace ${ws} and spec.port ${port} publishes it).`,
        },
  idle: (kind: PageKind, ws: string, port: string) =>
    kind === 'ide'
      ? {
          title: 'Workspace not running',
          text: `Workspace "${ws}" exists but is not running: it is stopped or still starting.`,
        }
      : {
          title: 'Workspace not running',
          text: `Port ${port} of workspace "${ws}" is registered, but the workspace is not running: it is stopped or still starting.`,
        },
  refused: (kind: PageKind, ws: string, port: string) =>
    kind === 'ide'
      ? {
          title: 'IDE not answering',
          text: `Workspace "${ws}" is running, but its IDE does not answer on port ${port}.`,
        }
      : {
          title: 'Nothing listens on this port',
          text: `Port ${port} of workspace "${ws}" is registered, but nothing answers on port ${port} in the workspace.`,
        },
  idePort: (ws: string, port: string) => ({
    title: 'Not a Port',
    text: `Port ${port} is the IDE's own port: workspace "${ws}" is at /workspace/${ws}/ on the workspace port, never on this preview port.`,
  }),
  notAPath: (kind: PageKind) =>
    kind === 'ide'
      ? { title: 'Not a workspace path', text: 'Nothing here: workspaces are at /workspace/NAME/.' }
      : { title: 'Not a port path', text: 'Nothing here: ports are at /workspace/NAME/port/PORT/.' },
};
