// Entry point: reads config.json, starts one live store per kind, shows the page.
import {
  API_BASE,
  defaultConfig,
  loadConfig,
  request,
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
const stores = {
  workspaces: new ResourceStore<Workspace>('workspaces'),
  ports: new ResourceStore<Port>('ports'),
  events: new ResourceStore<Event>('events'),
  syncs: new ResourceStore<Sync>('syncs'),
};
app.config = defaultConfig();
app.stores = stores;
followWhileVisible(Object.values(stores));
interceptLinks();
app.config = await loadConfig(`${import.meta.env.BASE_URL}config.json`);
// The ImageTemplates declared when the page loads join the server's templates in "New workspace".
const declared = await request<{ items: { metadata: { name: string } }[] }>('GET', `${API_BASE}/imagetemplates`).catch(
  () => undefined,
);
if (declared?.items.length) {
  const names = [...(app.config.imageTemplates ?? ['default']), ...declared.items.map((t) => t.metadata.name)];
  app.config = { ...app.config, imageTemplates: [...new Set(names)] };
}
