// Over 300 lines: most of it is the CSS of the table and of its narrow card layout.
import { LitElement, css, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { API_BASE, portUrl, type Port, type Sync, type UiConfig, type Workspace } from '../api.js';
import { workspacePath } from '../router.js';
import { humanStatus, ideState, syncOwner } from '../status.js';
import { baseStyles, controlStyles, tableStyles } from '../styles.js';
import { phaseTone } from './tp-badge.js';
import { ideLink } from './ide-link.js';
import type { SetRunning } from './tp-power-button.js';
import './tp-badge.js';
import './tp-age.js';
import './tp-power-button.js';
import './tp-usage-bar.js';
import { UsagePoller, byName, showBytes, showCores, type UsageList, type WorkspaceUsage } from '../usage.js';

/** Asks to delete a workspace (the page opens the confirmation); `opener` gets the focus back. */
export type RequestDelete = (name: string, opener: HTMLElement) => void;

/** The usage bars of each row and the host's budget above the table. */
const usageStyles = css`
    .usage {
      display: grid;
      gap: 2px;
      margin-top: 0.3rem;
      max-width: 14rem;
    }
    .host {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr));
      gap: 0.25rem 1.5rem;
      padding: 0.6rem 0.75rem;
      border-bottom: 1px solid var(--tp-border, #d8dde3);
    }
    .host-title {
      grid-column: 1 / -1;
      font-size: 0.8125rem;
    }
`;

/**
 * The Workspaces table: name (a link to its page) and the sync that owns it, phase, where it
 * stands in words, IP, age, the IDE (a link only while Ready) and each published Port, Start /
 * Stop and Delete.
 */
export class TpWorkspaces extends LitElement {
  static override properties = {
    workspaces: { attribute: false },
    ports: { attribute: false },
    config: { attribute: false },
    action: { attribute: false },
    requestDelete: { attribute: false },
    syncs: { attribute: false },
    loaded: { type: Boolean },
    base: { type: String },
    _usage: { state: true },
  };

  /** The Workspaces to show (any order: shown by name). */
  declare workspaces: Workspace[];
  /** Every Port; each is shown with the Workspace it names. */
  declare ports: Port[];
  /** Where the workspace server is (IDE and port links). */
  declare config: UiConfig;
  /** Sets spec.running; the Start / Stop buttons call it. */
  declare action: SetRunning | undefined;
  /** Opens the delete confirmation. */
  declare requestDelete: RequestDelete | undefined;
  /** The Syncs: a workspace one declares says so. */
  declare syncs: Sync[];
  /** False until the first list arrived: shows "Loading…" instead of "No workspaces". */
  declare loaded: boolean;
  /** The API base of the namespace shown (api.ts namespaceBase): its usage is polled. */
  declare base: string;
  /** The server's latest usage sample (a bar per running workspace, the host's budget). */
  declare private _usage: UsageList | undefined;
  #usageByName = new Map<string, WorkspaceUsage>();
  #poller: UsagePoller | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    this.#restartUsage();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#poller?.stop();
  }

  override updated(changed: Map<string, unknown>): void {
    // Another namespace picked: its bars, not the last one's.
    if (changed.has('base') && changed.get('base') !== undefined && this.isConnected) this.#restartUsage();
  }

  #restartUsage(): void {
    this.#poller?.stop();
    this._usage = undefined;
    this.#usageByName = new Map();
    this.#poller = new UsagePoller(
      '',
      (s) => {
        this._usage = 'list' in s ? s.list : undefined;
        this.#usageByName = this._usage ? byName(this._usage) : new Map();
      },
      this.base,
    );
    this.#poller.start();
  }

  constructor() {
    super();
    this.workspaces = [];
    this.ports = [];
    this.syncs = [];
    this.config = { workspaceBaseUrl: '' };
    this.loaded = false;
    this.base = API_BASE;
  }

  static override styles = [
    baseStyles,
    controlStyles,
    usageStyles,
    tableStyles,
    css`
      :host {
        container-type: inline-size;
      }
      td {
        vertical-align: baseline;
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      td.name-cell {
        min-width: 7rem;
      }
      .spec {
        display: block;
        font-size: 0.8125rem;
        white-space: nowrap;
      }
      td.ready {
        min-width: 9rem;
        max-width: 28rem;
      }
      .reason {
        font-weight: 600;
      }
      .message {
        display: block;
        font-size: 0.875rem;
        overflow-wrap: break-word;
      }
      td.ip {
        white-space: nowrap;
        min-width: 9ch;
      }
      td.ip .muted {
        font-family: system-ui, sans-serif;
        font-size: 1rem;
      }
      .links {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.75rem;
        align-items: baseline;
      }
      .links a {
        white-space: nowrap;
      }
      .ide {
        font-weight: 600;
      }
      th.age,
      td.age {
        width: 4.5rem;
        white-space: nowrap;
      }
      td.open {
        min-width: 9rem;
      }
      th.phase {
        width: 7rem;
      }
      td.power {
        /* As narrow as its two buttons. */
        width: 1%;
        white-space: nowrap;
      }
      .buttons {
        display: flex;
        gap: 0.5rem;
        align-items: flex-start;
      }
      a.name {
        color: inherit;
      }
      .owner {
        display: block;
        font-size: 0.8125rem;
        white-space: nowrap;
      }
      .label {
        display: none;
      }
      /* Narrow: each row becomes a card (below this width the table's columns no longer fit). */
      @container (max-width: 1000px) {
        thead {
          position: absolute;
          width: 1px;
          height: 1px;
          overflow: hidden;
          clip-path: inset(50%);
        }
        table,
        tbody {
          display: block;
        }
        tr {
          display: grid;
          grid-template-columns: minmax(0, 1fr) auto;
          grid-template-areas:
            'name phase'
            'ready ready'
            'ip age'
            'open power';
          gap: 0.4rem 0.75rem;
          padding: 0.75rem;
          border-bottom: 1px solid var(--tp-border, #d8dde3);
        }
        tbody tr:last-child {
          border-bottom: none;
        }
        td,
        tbody tr:last-child td,
        td.age,
        td.power,
        td.open,
        td.ready,
        td.ip {
          display: block;
          padding: 0;
          border: none;
          width: auto;
          max-width: none;
          min-width: 0;
        }
        .name {
          white-space: normal;
          overflow-wrap: anywhere;
        }
        td.name-cell {
          grid-area: name;
        }
        td.phase {
          grid-area: phase;
          justify-self: end;
        }
        td.ready {
          grid-area: ready;
        }
        td.ip {
          grid-area: ip;
        }
        td.age {
          grid-area: age;
          justify-self: end;
        }
        td.open {
          grid-area: open;
          align-self: center;
        }
        td.power {
          grid-area: power;
          justify-self: end;
        }
        .label {
          display: inline;
          margin-right: 0.4em;
          font-size: 0.75rem;
          font-weight: 600;
          text-transform: uppercase;
          letter-spacing: 0.04em;
          color: var(--tp-muted, #56606b);
          font-family: system-ui, sans-serif;
        }
      }
    `,
  ];

  private _portsOf(name: string): Port[] {
    return this.ports.filter((p) => p.spec.workspace === name).sort((a, b) => a.spec.port - b.spec.port);
  }

  private _row(ws: Workspace) {
    const name = ws.metadata.name;
    const phase = ws.status?.phase ?? 'Pending';
    const ports = this._portsOf(name);
    const cpu = ws.spec.resources?.cpu;
    const mem = ws.spec.resources?.memory;
    const open = ideState(ws).open;
    const owner = syncOwner(ws, this.syncs);
    const deleting = Boolean(ws.metadata.deletionTimestamp);
    return html`<tr data-name=${name}>
      <td class="name-cell">
        <a class="name" href=${workspacePath(name)}>${name}</a>
        ${cpu && mem ? html`<span class="spec muted num">${cpu} CPU · ${mem}</span>` : nothing}
        ${owner ? html`<span class="owner muted">from sync ${owner.sync}</span>` : nothing}
        ${this._bars(this.#usageByName.get(name))}
      </td>
      <td class="phase"><tp-badge .label=${deleting ? 'Deleting' : phase} .tone=${phaseTone(deleting ? 'Deleting' : phase)}></tp-badge></td>
      <td class="ready"><span class="message">${humanStatus(ws)}</span></td>
      <td class="ip mono num"><span class="label">IP</span>${ws.status?.ip || html`<span class="muted">—</span>`}${
        // On an Incus cluster: which member it runs on (the NODE column of `tidepool get -o wide`).
        ws.status?.node ? html` <span class="muted node">on ${ws.status.node}</span>` : ''
      }</td>
      <td class="age"><span class="label">Age</span><tp-age .datetime=${ws.metadata.creationTimestamp ?? ''}></tp-age></td>
      <td class="open">
        <span class="links">
          ${ideLink(this.config, ws)}
          ${ports.map((p) =>
            open
              ? html`<a class="port mono" href=${portUrl(this.config, name, p.spec.port, ws.metadata.namespace)} target="_blank" rel="noopener noreferrer"
                  ><span class="visually-hidden">Port </span>:${p.spec.port}</a
                >`
              : html`<span class="port-off mono muted"><span class="visually-hidden">Port </span>:${p.spec.port}</span>`,
          )}
        </span>
      </td>
      <td class="power">
        <span class="buttons">
          <tp-power-button .name=${name} .running=${ws.spec.running} .phase=${ws.status?.phase}
            .disabled=${deleting}
            .action=${this.action}
          ></tp-power-button>
          <button type="button" class="danger delete" aria-label=${`Delete ${name}`} ?disabled=${deleting || !this.requestDelete}
            @click=${(e: MouseEvent) => this.requestDelete?.(name, e.currentTarget as HTMLElement)}>Delete</button>
        </span>
      </td>
    </tr>`;
  }

  private _bars(u: WorkspaceUsage | undefined) {
    if (!u || u.cpuCores === undefined) return nothing;
    return html`<span class="usage">
      <tp-usage-bar label="CPU" .value=${u.cpuCores} .max=${u.cpuLimit ?? 1} .text=${`${showCores(u.cpuCores)} of ${u.cpuLimit ?? '?'} cores`}></tp-usage-bar>
      ${u.memoryBytes !== undefined && u.memoryLimitBytes ? html`<tp-usage-bar label="Mem" .value=${u.memoryBytes} .max=${u.memoryLimitBytes} .text=${`${showBytes(u.memoryBytes)} of ${showBytes(u.memoryLimitBytes)}`}></tp-usage-bar>` : nothing}
    </span>`;
  }

  /** The host budget held by the running workspaces (what admission counts), above the table. */
  private _host() {
    const h = this._usage?.host;
    if (!h) return nothing;
    return html`<div class="host" role="group" aria-labelledby="host-title"><span id="host-title" class="muted host-title">Host budget held by running workspaces</span>
      <tp-usage-bar label="CPU" .value=${h.cpuAllocated} .max=${h.cpuBudget} .text=${`${h.cpuAllocated} of ${h.cpuBudget} vCPUs held by running workspaces; ${showCores(h.cpuCores)} cores in use`}></tp-usage-bar>
      <tp-usage-bar label="Mem" .value=${h.memoryAllocatedBytes} .max=${h.memoryBudgetBytes} .text=${`${showBytes(h.memoryAllocatedBytes)} of ${showBytes(h.memoryBudgetBytes)} held by running workspaces; ${showBytes(h.memoryBytes)} in use`}></tp-usage-bar>
    </div>`;
  }

  override render() {
    const list = [...this.workspaces].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    if (list.length === 0) {
      return html`<p class="empty">
        ${
          this.loaded
            ? html`No workspaces yet. Make one with “New workspace”, or declare one and apply it: <code>tidepool apply -f workspace.yaml</code>`
            : 'Loading…'
        }
      </p>`;
    }
    return html`${this._host()}<table>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col" class="phase">Phase</th>
          <th scope="col">Status</th>
          <th scope="col">IP</th>
          <th scope="col" class="age">Age</th>
          <th scope="col">Open</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        ${repeat(
          list,
          (ws) => ws.metadata.name,
          (ws) => this._row(ws),
        )}
      </tbody>
    </table>`;
  }
}

customElements.define('tp-workspaces', TpWorkspaces);

declare global {
  interface HTMLElementTagNameMap {
    'tp-workspaces': TpWorkspaces;
  }
}
