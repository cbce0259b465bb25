// The page's two views as real URLs: /app/ (every workspace) and /app/workspaces/NAME (one).
// Links are ordinary <a href> (so keyboard, middle-click and "copy link" work); a plain click
// on one is taken over with history.pushState, and the server answers a reload of any
// /app/workspaces/* URL with the page itself.

export const APP_BASE = '/app/';

export type Route = { view: 'list' } | { view: 'workspace'; name: string };

export function parseRoute(pathname: string): Route {
  const m = /^\/app\/workspaces\/([^/]+)\/?$/.exec(pathname);
  if (m) {
    try {
      return { view: 'workspace', name: decodeURIComponent(m[1]!) };
    } catch {
      return { view: 'list' };
    }
  }
  return { view: 'list' };
}

export function workspacePath(name: string): string {
  return `${APP_BASE}workspaces/${encodeURIComponent(name)}`;
}

/** Goes to a path of the app without reloading; listeners of `popstate` re-render. */
export function navigate(path: string, win: Window = window): void {
  if (win.location.pathname !== path) win.history.pushState(null, '', path);
  win.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * Takes over plain clicks on same-origin links into the app (also inside shadow roots),
 * leaving new-tab clicks, downloads and links elsewhere to the browser.
 */
export function interceptLinks(win: Window = window): () => void {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e
      .composedPath()
      .find((n): n is HTMLAnchorElement => (n as Element).localName === 'a' && 'href' in (n as object));
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, win.location.href);
    if (url.origin !== win.location.origin || !url.pathname.startsWith(APP_BASE)) return;
    e.preventDefault();
    navigate(url.pathname, win);
  };
  win.document.addEventListener('click', onClick);
  return () => win.document.removeEventListener('click', onClick);
}
