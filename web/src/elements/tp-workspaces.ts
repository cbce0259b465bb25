import { LitElement, css, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { condition, ideUrl, portUrl, type Port, type UiConfig, type Workspace } from '../api.js';
import { baseStyles, tableStyles } from '../styles.js';
import { phaseTone } from './tp-badge.js';
import type { SetRunning } from './tp-power-button.js';
import './tp-badge.js';
import './tp-age.js';
import './tp-power-button.js';

/**
 * The Workspaces table: name, phase, the Ready condition's reason and message, IP, age,
 * links to the IDE and to each published Port, and Start / Stop.
 */
export class TpWorkspaces extends LitElement {
  static override properties = {
    workspaces: { attribute: false },
    ports: { attribute: false },
    config: { attribute: false },
    action: { attribute: false },
    loaded: { type: Boolean },
  };

  /** The Workspaces to show (any order: shown by name). */
  declare workspaces: Workspace[];
  /** Every Port; each is shown with the Workspace it names. */
  declare ports: Port[];
  /** Where the workspace server is (IDE and port links). */
  declare config: UiConfig;
  /** Sets spec.running; the Start / Stop buttons call it. */
  declare action: SetRunning | undefined;
  /** False until the first list arrived: shows "Loading…" instead of "No workspaces". */
  declare loaded: boolean;

  constructor() {
    super();
    this.workspaces = [];
    this.ports = [];
    this.config = { workspaceBaseUrl: '' };
    this.loaded = false;
  }

  static override styles = [
    baseStyles,
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
        white-space: nowrap;
      }
      .spec {
        display: block;
        font-size: 0.8125rem;
        white-space: nowrap;
      }
      td.ready {
        max-width: 28rem;
      }
      .reason {
        font-weight: 600;
      }
      .message {
        display: block;
        font-size: 0.875rem;
        overflow-wrap: anywhere;
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
        min-width: 11rem;
      }
      th.phase {
        width: 7rem;
      }
      td.power {
        width: 8rem;
      }
      .label {
        display: none;
      }
      /* Narrow: each row becomes a card. */
      @container (max-width: 760px) {
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
    const ready = condition(ws.status?.conditions);
    const ports = this._portsOf(name);
    const cpu = ws.spec.resources?.cpu;
    const mem = ws.spec.resources?.memory;
    return html`<tr data-name=${name}>
      <td class="name-cell">
        <span class="name">${name}</span>
        ${cpu && mem ? html`<span class="spec muted num">${cpu} CPU · ${mem}</span>` : nothing}
      </td>
      <td class="phase"><tp-badge .label=${phase} .tone=${phaseTone(phase)}></tp-badge></td>
      <td class="ready">
        ${ready
          ? html`<span class="reason">${ready.reason}</span><span class="message muted">${ready.message}</span>`
          : html`<span class="muted">—</span>`}
      </td>
      <td class="ip mono num"><span class="label">IP</span>${ws.status?.ip || html`<span class="muted">—</span>`}</td>
      <td class="age"><span class="label">Age</span><tp-age .datetime=${ws.metadata.creationTimestamp ?? ''}></tp-age></td>
      <td class="open">
        <span class="links">
          <a class="ide" href=${ideUrl(this.config, name)} target="_blank" rel="noopener noreferrer"
            >IDE<span aria-hidden="true"> ↗</span><span class="visually-hidden"> of ${name} (new tab)</span></a
          >
          ${ports.map(
            (p) =>
              html`<a class="port mono" href=${portUrl(this.config, name, p.spec.port)} target="_blank" rel="noopener noreferrer"
                ><span class="visually-hidden">Port </span>:${p.spec.port}</a
              >`,
          )}
        </span>
      </td>
      <td class="power">
        <tp-power-button .name=${name} .running=${ws.spec.running}
          .disabled=${Boolean(ws.metadata.deletionTimestamp)}
          .action=${this.action}
        ></tp-power-button>
      </td>
    </tr>`;
  }

  override render() {
    const list = [...this.workspaces].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    if (list.length === 0) {
      return html`<p class="empty">
        ${this.loaded
          ? html`No workspaces yet. Declare one and apply it: <code>tidepool apply -f workspace.yaml</code>`
          : 'Loading…'}
      </p>`;
    }
    return html`<table>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col" class="phase">Phase</th>
          <th scope="col">Ready</th>
          <th scope="col">IP</th>
          <th scope="col" class="age">Age</th>
          <th scope="col">Open</th>
          <th scope="col"><span class="visually-hidden">Power</span></th>
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
