// Entry point: reads config.json, starts one live store per kind, shows the page.
import { defaultConfig, loadConfig, type Event, type Port, type Sync, type Workspace } from './api.js';
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
