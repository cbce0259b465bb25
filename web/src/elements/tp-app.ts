// Over 300 lines: half of it is the page layout's CSS, kept beside the markup it styles.
import { LitElement, css, html, type PropertyValues } from 'lit';
import {
  createPort,
  createWorkspace,
  deleteObject,
  namespaceBase,
  portShare,
  probePort,
  setPortVisibility,
  setRunning,
  sleepOrWake,
  type QuotaUsage,
  type Event,
  type NewWorkspace,
  type Port,
  type Sync,
  type UiConfig,
  type Workspace,
} from '../api.js';
import { APP_BASE, navigate, parseRoute, workspacePath, type Route } from '../router.js';
import { syncOwner } from '../status.js';
import { overallState, type ResourceStore, type StoredObject } from '../store.js';
import { baseStyles, controlStyles } from '../styles.js';
import type { TpCreateDialog } from './tp-create-dialog.js';
import type { TpDeleteDialog } from './tp-delete-dialog.js';
import type { PortActions } from './tp-ports.js';
import './tp-connection.js';
import './tp-who.js';
import './tp-workspaces.js';
import './tp-syncs.js';
import './tp-events.js';
import './tp-create-dialog.js';
import './tp-delete-dialog.js';
import './tp-workspace-page.js';
import './tp-namespace-bar.js';

/** The live stores the page shows, one per kind. */
export interface Stores {
  workspaces: ResourceStore<Workspace>;
  ports: ResourceStore<Port>;
  events: ResourceStore<Event>;
  syncs: ResourceStore<Sync>;
}

/**
 * The whole page: a header with the connection state, then either every workspace (with "New
 * workspace", the sync folders and the events) or one workspace's page, by the URL; live.
 */
export class TpApp extends LitElement {
  static override properties = {
    stores: { attribute: false },
    config: { attribute: false },
    route: { attribute: false },
    namespace: { type: String },
    admin: { type: Boolean },
    namespaces: { attribute: false },
    quota: { attribute: false },
  };

  /** The namespace shown ('' for the person's own): the stores and every write address it. */
  declare namespace: string;
  /** An admin may pick any namespace. */
  declare admin: boolean;
  /** What an admin may pick. */
  declare namespaces: string[];
  /** The shown namespace's use against its quota. */
  declare quota: QuotaUsage | undefined;

  private get _base(): string {
    return namespaceBase(this.namespace || undefined);
  }

  /** Which view: set from the URL, and again on every history change. */
  declare route: Route;

  /** One live store per kind; the page re-renders on each change. */
  declare stores: Stores | undefined;
  /** Where the workspace server is. */
  declare config: UiConfig;
  private _unsubscribe: (() => void) | undefined;

  constructor() {
    super();
    this.config = { workspaceBaseUrl: '' };
    this.namespace = '';
    this.admin = false;
    this.namespaces = [];
    this.route = parseRoute(typeof location === 'undefined' ? APP_BASE : location.pathname);
  }

  static override styles = [
    baseStyles,
    controlStyles,
    css`
      :host {
        display: block;
        min-height: 100vh;
      }
      header {
        position: sticky;
        top: 0;
        z-index: 1;
        display: flex;
        align-items: center;
        justify-content: space-between;
        /* Who is signed in goes to a line of its own on a phone. */
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        padding: 0.75rem clamp(1rem, 3vw, 2rem);
        background: var(--tp-header-bg, #0f2742);
        color: var(--tp-header-fg, #fff);
      }
      header tp-connection {
        --tp-muted: var(--tp-header-muted, #c9d6e6);
        --tp-warn-fg: var(--tp-header-warn, #ffd479);
      }
      h1 {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        margin: 0;
        font-size: 1.25rem;
        letter-spacing: 0.01em;
      }
      h1 a {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        color: inherit;
        text-decoration: none;
      }
      h1 a:focus-visible {
        outline-color: var(--tp-header-fg, #fff);
      }
      .section-head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
        margin: 0 0 0.5rem;
      }
      .section-head h2 {
        margin: 0;
      }
      h1 svg {
        width: 1.5rem;
        height: 1.5rem;
      }
      main {
        max-width: 90rem;
        margin: 0 auto;
        padding: 1.25rem clamp(0.5rem, 3vw, 2rem) 3rem;
        display: grid;
        gap: 1.5rem;
      }
      main:focus {
        outline: none;
      }
      .lower {
        display: grid;
        gap: 1.5rem;
        grid-template-columns: minmax(0, 1fr);
      }
      @media (min-width: 1180px) {
        .lower {
          grid-template-columns: minmax(0, 2fr) minmax(0, 3fr);
          align-items: start;
        }
      }
      h2 {
        display: flex;
        align-items: baseline;
        gap: 0.5rem;
        margin: 0 0 0.5rem;
        padding: 0 0.25rem;
        font-size: 1.05rem;
      }
      h2 .count {
        font-size: 0.875rem;
        font-weight: 500;
        font-variant-numeric: tabular-nums;
        color: var(--tp-muted, #56606b);
      }
      .card {
        background: var(--tp-surface, #fff);
        border: 1px solid var(--tp-border, #d8dde3);
        border-radius: 10px;
        box-shadow: 0 1px 2px rgb(0 0 0 / 0.04);
        /* Room for a few rows before the first list: the page does not jump when data arrives. */
        min-height: 3.5rem;
      }
    `,
  ];

  private _onPopState = () => {
    this.route = parseRoute(location.pathname);
  };

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._unsubscribe?.();
    this._unsubscribe = undefined;
    window.removeEventListener('popstate', this._onPopState);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.stores && !this._unsubscribe) this._subscribe();
    window.addEventListener('popstate', this._onPopState);
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('route')) {
      const r = this.route;
      document.title = r.view === 'workspace' ? `${r.name} · Tidepool` : 'Tidepool';
      // A new view: focus its heading, so that keyboard and screen reader users start there.
      if (changed.get('route') !== undefined) (this.renderRoot.querySelector('main') as HTMLElement | null)?.focus();
    }
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('stores') && this.isConnected) this._subscribe();
  }

  private _subscribe(): void {
    this._unsubscribe?.();
    const stores = this.stores ? Object.values(this.stores) : [];
    const onChange = () => this.requestUpdate();
    for (const s of stores) s.addEventListener('change', onChange);
    this._unsubscribe = () => {
      for (const s of stores) s.removeEventListener('change', onChange);
    };
  }

  private _sleepOrWake = (name: string, verb: 'wake' | 'sleep'): Promise<unknown> =>
    sleepOrWake(name, verb, undefined, this._base);

  private _setRunning = async (name: string, running: boolean): Promise<void> => {
    const ws = await setRunning(name, running, undefined, this._base);
    // Shown at once; the watch event that follows changes nothing.
    this.stores?.workspaces.apply(ws);
  };

  private _create = async (w: NewWorkspace): Promise<Workspace> => {
    const ws = await createWorkspace(w, undefined, this._base);
    this.stores?.workspaces.apply(ws);
    return ws;
  };

  private _delete = async (name: string): Promise<void> => {
    // The confirmation named the sync that owns it (if any): typing the name accepts that it comes back.
    const ws = this.stores?.workspaces.get(name);
    const owned = ws ? syncOwner(ws, this.stores?.syncs.items ?? []) !== undefined : false;
    await deleteObject('workspaces', name, undefined, this._base, { force: owned });
  };

  private _requestDelete = (name: string, opener: HTMLElement): void => {
    const ws = this.stores?.workspaces.get(name);
    const owner = ws ? syncOwner(ws, this.stores?.syncs.items ?? []) : undefined;
    void (this.renderRoot.querySelector('tp-delete-dialog') as TpDeleteDialog | null)?.open(name, owner, opener);
  };

  private _portActions: PortActions = {
    add: async (workspace, port) => {
      const p = await createPort(workspace, port, undefined, this._base);
      this.stores?.ports.apply(p);
    },
    remove: (name) => deleteObject('ports', name, undefined, this._base),
    probe: (name) => probePort(name, undefined, this._base),
    setVisibility: async (name, visibility) => {
      this.stores?.ports.apply(await setPortVisibility(name, visibility, undefined, this._base));
    },
    share: (name, rotate) => portShare(name, rotate, undefined, this._base),
  };

  private _openCreate(e: MouseEvent): void {
    (this.renderRoot.querySelector('tp-create-dialog') as TpCreateDialog | null)?.open(e.currentTarget as HTMLElement);
  }

  private _list(s: Stores | undefined) {
    const workspaces = s?.workspaces.items ?? [];
    const syncs = s?.syncs.items ?? [];
    const events = s?.events.items ?? [];
    return html`<section aria-labelledby="h-workspaces">
        <div class="section-head">
          <h2 id="h-workspaces">Workspaces <span class="count">${s?.workspaces.loaded ? workspaces.length : ''}</span></h2>
          <button type="button" class="primary new" @click=${this._openCreate}>New workspace</button>
        </div>
        <div class="card">
          <tp-workspaces
            .workspaces=${workspaces}
            .ports=${s?.ports.items ?? []}
            .syncs=${syncs}
            .config=${this.config}
            .action=${this._setRunning}
            .requestDelete=${this._requestDelete}
            .loaded=${s?.workspaces.loaded ?? false}
            .base=${this._base}
          ></tp-workspaces>
        </div>
      </section>
      <div class="lower">
        <section aria-labelledby="h-syncs">
          <h2 id="h-syncs">Sync folders <span class="count">${s?.syncs.loaded ? syncs.length : ''}</span></h2>
          <div class="card"><tp-syncs .syncs=${syncs} .loaded=${s?.syncs.loaded ?? false}></tp-syncs></div>
        </section>
        <section aria-labelledby="h-events">
          <h2 id="h-events">Recent events</h2>
          <div class="card">
            <tp-events .events=${events} .ports=${s?.ports.items ?? []} .workspaces=${workspaces.map((w) => w.metadata.name)}
              .loaded=${s?.events.loaded ?? false}></tp-events>
          </div>
        </section>
      </div>`;
  }

  private _page(s: Stores | undefined, name: string) {
    return html`<tp-workspace-page
      .name=${name}
      .workspace=${s?.workspaces.get(name)}
      .loaded=${s?.workspaces.loaded ?? false}
      .ports=${s?.ports.items ?? []}
      .events=${s?.events.items ?? []}
      .eventsLoaded=${s?.events.loaded ?? false}
      .syncs=${s?.syncs.items ?? []}
      .config=${this.config}
      .action=${this._setRunning}
      .sleepAction=${this._sleepOrWake}
      .portActions=${this._portActions}
      .requestDelete=${this._requestDelete}
      .base=${this._base}
    ></tp-workspace-page>`;
  }

  override render() {
    const s = this.stores;
    const all = s ? ([s.workspaces, s.ports, s.events, s.syncs] as ResourceStore<StoredObject>[]) : [];
    const workspaces = s?.workspaces.items ?? [];
    const route = this.route;
    return html`<header>
        <h1>
          <a href=${APP_BASE} aria-label="Tidepool: all workspaces">
          <svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">
            <path d="M2 15c2.5 0 2.5-2 5-2s2.5 2 5 2 2.5-2 5-2 2.5 2 5 2" />
            <path d="M2 20c2.5 0 2.5-2 5-2s2.5 2 5 2 2.5-2 5-2 2.5 2 5 2" opacity=".6" />
            <circle cx="12" cy="7" r="3.2" />
          </svg>
          Tidepool
          </a>
        </h1>
        <tp-namespace-bar
          .namespaces=${this.namespaces}
          .namespace=${this.namespace}
          .admin=${this.admin}
          .usage=${this.quota}
        ></tp-namespace-bar>
        <tp-connection .state=${overallState(all)}></tp-connection>
        <tp-who></tp-who>
      </header>
      <main tabindex="-1">${route.view === 'workspace' ? this._page(s, route.name) : this._list(s)}</main>
      <tp-create-dialog
        .templates=${this.config.imageTemplates ?? []}
        .workspaces=${workspaces.map((w) => w.metadata.name)}
        .create=${this._create}
        @created=${(e: CustomEvent<Workspace>) => navigate(workspacePath(e.detail.metadata.name))}
      ></tp-create-dialog>
      <tp-delete-dialog
        .deleteWorkspace=${this._delete}
        @deleted=${() => {
          // The button that opened the confirmation is gone with its workspace: start again from the top.
          if (this.route.view === 'workspace') navigate(APP_BASE);
          else (this.renderRoot.querySelector('main') as HTMLElement | null)?.focus();
        }}
      ></tp-delete-dialog>`;
  }
}

customElements.define('tp-app', TpApp);

declare global {
  interface HTMLElementTagNameMap {
    'tp-app': TpApp;
  }
}
