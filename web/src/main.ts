// Entry point: reads config.json, starts one live store per kind, shows the page.
import {
  API_BASE,
  defaultConfig,
  loadConfig,
  namespaceBase,
  request,
  type QuotaUsage,
  type Event,
  type Port,
  type Sync,
  type Workspace,
} from './api.js';
import { interceptLinks } from './router.js';
import { ResourceStore } from './store.js';
import { followWhileVisible } from './visibility.js';
import './elements/tp-app.js';

const app = document.querySelector('tp-app') ?? document.body.appendChild(document.createElement('tp-app'));

/** The live stores of namespace `ns` ('' for the person's own); Sync folders are the whole server's. */
function storesOf(ns: string) {
  const base = namespaceBase(ns || undefined);
  return {
    workspaces: new ResourceStore<Workspace>('workspaces', { base }),
    ports: new ResourceStore<Port>('ports', { base }),
    events: new ResourceStore<Event>('events', { base }),
    syncs: new ResourceStore<Sync>('syncs'),
  };
}

/**
 * The shown namespace's use against its quota, read again when its workspaces change what a
 * quota counts: which there are and their specs (a new metadata.generation). A status write (an
 * access time, a phase) and a store's `change` for its connection state read nothing, so an
 * idle page sends no request, even while its own loads update lastAccessTime.
 */
let quotaTimer: ReturnType<typeof setTimeout> | undefined;
let quotaSeen: string | undefined;
function readQuota(): void {
  const workspaces = app.stores?.workspaces;
  // Not before the list is in: the use is read once with it, as part of the page's load.
  if (!workspaces?.loaded) return;
  const seen = `${app.namespace}:${workspaces.items.map((w) => `${w.metadata.name}@${w.metadata.generation}`).join(',')}`;
  if (seen === quotaSeen) return;
  const first = quotaSeen === undefined;
  quotaSeen = seen;
  clearTimeout(quotaTimer);
  // The first read goes at once (the page is loading anyway); later changes come in bursts (an
  // apply of many) and are read once they settle.
  quotaTimer = setTimeout(
    async () => {
      const ns = app.namespace;
      const u = ns
        ? await request<QuotaUsage>('GET', `${namespaceBase(ns)}/quotausage`).catch(() => undefined)
        : (await request<{ items: QuotaUsage[] }>('GET', `${API_BASE}/quotausage`).catch(() => undefined))?.items[0];
      if (app.namespace === ns) app.quota = u;
    },
    first ? 0 : 300,
  );
}

let stopFollowing = () => {};
function show(ns: string): void {
  stopFollowing();
  for (const s of Object.values(app.stores ?? {})) s.stop();
  const stores = storesOf(ns);
  app.namespace = ns;
  app.quota = undefined;
  quotaSeen = undefined;
  app.stores = stores;
  stores.workspaces.addEventListener('change', readQuota);
  stopFollowing = followWhileVisible(Object.values(stores));
  readQuota();
}

app.config = defaultConfig();
show('');
interceptLinks();
// An admin (whoever may list every namespace) gets a namespace picker.
app.addEventListener('namespace-change', (e) => show((e as CustomEvent<string>).detail));
void request<{ items: QuotaUsage[] }>('GET', `${API_BASE}/quotausage?allNamespaces=true`).then(
  (all) => {
    app.admin = true;
    app.namespaces = all.items.map((u) => u.namespace);
  },
  () => undefined,
);
app.config = await loadConfig(`${import.meta.env.BASE_URL}config.json`);
// The ImageTemplates declared when the page loads join the server's templates in "New workspace".
const declared = await request<{ items: { metadata: { name: string } }[] }>('GET', `${API_BASE}/imagetemplates`).catch(
  () => undefined,
);
if (declared?.items.length) {
  const names = [...(app.config.imageTemplates ?? ['default']), ...declared.items.map((t) => t.metadata.name)];
  app.config = { ...app.config, imageTemplates: [...new Set(names)] };
}
