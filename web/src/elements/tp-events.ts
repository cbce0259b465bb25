import { LitElement, css, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Event, Port } from '../api.js';
import { parseTime } from '../time.js';
import { baseStyles, controlStyles } from '../styles.js';
import './tp-age.js';
import './tp-time.js';
import './tp-badge.js';

/** Newest first: by lastTimestamp, then by resourceVersion. */
export function newestFirst(events: readonly Event[]): Event[] {
  const t = (e: Event) => parseTime(e.lastTimestamp) ?? parseTime(e.metadata.creationTimestamp) ?? 0;
  const rv = (e: Event) => Number(e.metadata.resourceVersion ?? 0) || 0;
  return [...events].sort((a, b) => t(b) - t(a) || rv(b) - rv(a));
}

/** The workspace an Event is about: its own, or the one a Port it names belongs to. */
export function eventWorkspace(e: Event, portWorkspace: ReadonlyMap<string, string>): string | undefined {
  if (e.regarding.kind === 'Workspace') return e.regarding.name;
  if (e.regarding.kind === 'Port') return portWorkspace.get(e.regarding.name);
  return undefined;
}

export interface EventFilter {
  /** Only events about this workspace (or its ports); '' for all. */
  workspace: string;
  /** Only Normal or Warning; '' for both. */
  type: string;
}

/** The events matching a filter, newest first. */
export function filterEvents(events: readonly Event[], f: EventFilter, ports: readonly Port[] = []): Event[] {
  const portWs = new Map(ports.map((p) => [p.metadata.name, p.spec.workspace]));
  return newestFirst(events).filter(
    (e) => (!f.type || e.type === f.type) && (!f.workspace || eventWorkspace(e, portWs) === f.workspace),
  );
}

/**
 * The most recent Events, newest first, at most `limit` of them; Warnings are marked. Filterable
 * by workspace (unless `workspace` fixes it) and by type.
 */
export class TpEvents extends LitElement {
  static override properties = {
    events: { attribute: false },
    ports: { attribute: false },
    limit: { type: Number },
    loaded: { type: Boolean },
    workspace: { type: String },
    workspaces: { attribute: false },
    _ws: { state: true },
    _type: { state: true },
  };

  /** The Events to show (any order). */
  declare events: Event[];
  /** Every Port: an event about a Port counts for its workspace. */
  declare ports: Port[];
  /** How many of the most recent to show. */
  declare limit: number;
  /** False until the first list arrived. */
  declare loaded: boolean;
  /** Shows only this workspace's events, without a workspace filter. */
  declare workspace: string;
  /** The names the workspace filter offers. */
  declare workspaces: string[];
  declare private _ws: string;
  declare private _type: string;

  constructor() {
    super();
    this.events = [];
    this.ports = [];
    this.limit = 50;
    this.loaded = false;
    this.workspace = '';
    this.workspaces = [];
    this._ws = '';
    this._type = '';
  }

  static override styles = [
    baseStyles,
    controlStyles,
    css`
      :host {
        container-type: inline-size;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: grid;
        grid-template-columns: 10.5rem 6.5rem minmax(0, 1fr);
        grid-template-areas: 'when type body';
        gap: 0.25rem 0.75rem;
        padding: 0.6rem 0.75rem;
        border-bottom: 1px solid var(--tp-border, #d8dde3);
      }
      li:last-child {
        border-bottom: none;
      }
      li.warning {
        box-shadow: inset 3px 0 0 var(--tp-warn-dot, #d98c00);
        background: var(--tp-warn-soft, transparent);
      }
      .when {
        grid-area: when;
        font-size: 0.875rem;
        white-space: nowrap;
      }
      .when tp-age {
        display: block;
        font-size: 0.8125rem;
      }
      .type {
        grid-area: type;
      }
      .body {
        grid-area: body;
        min-width: 0;
      }
      .reason {
        font-weight: 600;
        margin-right: 0.5em;
      }
      .object {
        font-size: 0.875rem;
        overflow-wrap: anywhere;
      }
      .note {
        display: block;
        overflow-wrap: anywhere;
      }
      .count {
        font-size: 0.8125rem;
      }
      .filters {
        display: flex;
        flex-wrap: wrap;
        align-items: flex-end;
        gap: 0.5rem 0.75rem;
        padding: 0.6rem 0.75rem;
        border-bottom: 1px solid var(--tp-border, #d8dde3);
      }
      .filter {
        flex: 0 1 11rem;
      }
      .filter label {
        font-size: 0.75rem;
        margin-bottom: 0.15rem;
      }
      .filter select {
        padding: 0.3em 0.5em;
      }
      .shown {
        margin: 0 0 0 auto;
        font-size: 0.8125rem;
        align-self: center;
      }
      /* Narrow: time and type on one line, the message under them. */
      @container (max-width: 520px) {
        li {
          grid-template-columns: minmax(0, 1fr) auto;
          grid-template-areas:
            'when type'
            'body body';
        }
        .when tp-age {
          display: inline;
          margin-left: 0.4em;
        }
        .type {
          justify-self: end;
        }
      }
    `,
  ];

  private _filters(shown: number, total: number) {
    const names = [...new Set([...this.workspaces, ...(this._ws ? [this._ws] : [])])].sort();
    return html`<div class="filters">
      ${
        this.workspace
          ? nothing
          : html`<div class="filter">
            <label for="f-ws">Workspace</label>
            <select id="f-ws" @change=${(e: globalThis.Event) => (this._ws = (e.target as HTMLSelectElement).value)}>
              <option value="" ?selected=${!this._ws}>All</option>
              ${names.map((n) => html`<option value=${n} ?selected=${n === this._ws}>${n}</option>`)}
            </select>
          </div>`
      }
      <div class="filter">
        <label for="f-type">Type</label>
        <select id="f-type" @change=${(e: globalThis.Event) => (this._type = (e.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${!this._type}>All</option>
          <option value="Warning" ?selected=${this._type === 'Warning'}>Warnings</option>
          <option value="Normal" ?selected=${this._type === 'Normal'}>Normal</option>
        </select>
      </div>
      <p class="shown muted num" aria-live="polite">${total > shown ? `Latest ${shown} of ${total}` : `${total} ${total === 1 ? 'event' : 'events'}`}</p>
    </div>`;
  }

  override render() {
    const matching = filterEvents(this.events, { workspace: this.workspace || this._ws, type: this._type }, this.ports);
    const list = matching.slice(0, this.limit);
    const filters = this.loaded ? this._filters(list.length, matching.length) : nothing;
    if (list.length === 0) {
      const filtered = this.events.length > 0;
      return html`${filters}<p class="empty">${this.loaded ? (filtered ? 'No events match.' : 'No events.') : 'Loading…'}</p>`;
    }
    return html`${filters}<ol aria-label="Events, newest first">
      ${repeat(
        list,
        (e) => e.metadata.name,
        (e) => {
          const warning = e.type === 'Warning';
          return html`<li class=${warning ? 'event warning' : 'event normal'} data-name=${e.metadata.name}>
            <span class="when">
              <tp-time .datetime=${e.lastTimestamp}></tp-time>
              <tp-age class="muted" .datetime=${e.lastTimestamp}></tp-age>
            </span>
            <span class="type"><tp-badge .label=${e.type} .tone=${warning ? 'warn' : 'neutral'}></tp-badge></span>
            <span class="body">
              <span class="reason">${e.reason}</span><span class="object muted">${e.regarding.kind}/${e.regarding.name}</span>
              <span class="note">${e.note}${e.count > 1 ? html` <span class="count muted num">×${e.count}</span>` : nothing}</span>
            </span>
          </li>`;
        },
      )}
    </ol>`;
  }
}

customElements.define('tp-events', TpEvents);

declare global {
  interface HTMLElementTagNameMap {
    'tp-events': TpEvents;
  }
}
