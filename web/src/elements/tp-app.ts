import { LitElement, css, html, type PropertyValues } from 'lit';
import { setRunning, type Event, type Port, type Sync, type UiConfig, type Workspace } from '../api.js';
import { overallState, type ResourceStore, type StoredObject } from '../store.js';
import { baseStyles } from '../styles.js';
import './tp-connection.js';
import './tp-workspaces.js';
import './tp-syncs.js';
import './tp-events.js';

/** The live stores the page shows, one per kind. */
export interface Stores {
  workspaces: ResourceStore<Workspace>;
  ports: ResourceStore<Port>;
  events: ResourceStore<Event>;
  syncs: ResourceStore<Sync>;
}

/** The whole page: a header with the connection state, then Workspaces, Syncs and Events, live. */
export class TpApp extends LitElement {
  static override properties = {
    stores: { attribute: false },
    config: { attribute: false },
  };

  /** One live store per kind; the page re-renders on each change. */
  declare stores: Stores | undefined;
  /** Where the workspace server is. */
  declare config: UiConfig;
  private _unsubscribe: (() => void) | undefined;

  constructor() {
    super();
    this.config = { workspaceBaseUrl: '' };
  }

  static override styles = [
    baseStyles,
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
        gap: 1rem;
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

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._unsubscribe?.();
    this._unsubscribe = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.stores && !this._unsubscribe) this._subscribe();
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

  private _setRunning = async (name: string, running: boolean): Promise<void> => {
    const ws = await setRunning(name, running);
    // Shown at once; the watch event that follows changes nothing.
    this.stores?.workspaces.apply(ws);
  };

  override render() {
    const s = this.stores;
    const all = s ? ([s.workspaces, s.ports, s.events, s.syncs] as ResourceStore<StoredObject>[]) : [];
    const workspaces = s?.workspaces.items ?? [];
    const syncs = s?.syncs.items ?? [];
    const events = s?.events.items ?? [];
    return html`<header>
        <h1>
          <svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">
            <path d="M2 15c2.5 0 2.5-2 5-2s2.5 2 5 2 2.5-2 5-2 2.5 2 5 2" />
            <path d="M2 20c2.5 0 2.5-2 5-2s2.5 2 5 2 2.5-2 5-2 2.5 2 5 2" opacity=".6" />
            <circle cx="12" cy="7" r="3.2" />
          </svg>
          Tidepool
        </h1>
        <tp-connection .state=${overallState(all)}></tp-connection>
      </header>
      <main>
        <section aria-labelledby="h-workspaces">
          <h2 id="h-workspaces">Workspaces <span class="count">${s?.workspaces.loaded ? workspaces.length : ''}</span></h2>
          <div class="card">
            <tp-workspaces
              .workspaces=${workspaces}
              .ports=${s?.ports.items ?? []}
              .config=${this.config}
              .action=${this._setRunning}
              .loaded=${s?.workspaces.loaded ?? false}
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
            <div class="card"><tp-events .events=${events} .loaded=${s?.events.loaded ?? false}></tp-events></div>
          </section>
        </div>
      </main>`;
  }
}

customElements.define('tp-app', TpApp);

declare global {
  interface HTMLElementTagNameMap {
    'tp-app': TpApp;
  }
}
