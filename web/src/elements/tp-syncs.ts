import { LitElement, css, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { condition, type StatusCause, type Sync } from '../api.js';
import { baseStyles } from '../styles.js';
import type { Tone } from './tp-badge.js';
import './tp-age.js';
import './tp-badge.js';

/**
 * The state of a Sync from its kstatus-style conditions: Ready (Ready=True), Stalled (Stalled=True:
 * the folder must change), Reconciling (Reconciling=True: work under way or a retry), else Not ready
 * (Ready=False) or Pending (no conditions yet).
 */
export function syncState(sync: Sync): { label: string; tone: Tone } {
  const is = (type: string, status: string) => condition(sync.status?.conditions, type)?.status === status;
  if (is('Ready', 'True')) return { label: 'Ready', tone: 'ok' };
  if (is('Stalled', 'True')) return { label: 'Stalled', tone: 'error' };
  if (is('Reconciling', 'True')) return { label: 'Reconciling', tone: 'progress' };
  if (is('Ready', 'False')) return { label: 'Not ready', tone: 'warn' };
  return { label: 'Pending', tone: 'neutral' };
}

/** "workspaces/bad.yaml:3:7" from a cause's file, line and column (whatever of them it has). */
export function causeLocation(c: StatusCause): string {
  if (!c.file) return c.line ? `line ${c.line}` : '';
  return [c.file, c.line, c.line ? c.column : undefined].filter((x) => x !== undefined && x !== '').join(':');
}

/** Each watched manifest folder (GitOps) with its state and, when failing, each error with file and line. */
export class TpSyncs extends LitElement {
  static override properties = {
    syncs: { attribute: false },
    loaded: { type: Boolean },
  };

  /** The Syncs to show (any order: shown by name). */
  declare syncs: Sync[];
  /** False until the first list arrived. */
  declare loaded: boolean;

  constructor() {
    super();
    this.syncs = [];
    this.loaded = false;
  }

  static override styles = [
    baseStyles,
    css`
      ul.syncs {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li.sync {
        padding: 0.75rem;
        border-bottom: 1px solid var(--tp-border, #d8dde3);
      }
      li.sync:last-child {
        border-bottom: none;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.35rem 0.75rem;
      }
      .name {
        font-weight: 600;
      }
      .path {
        flex: 1 1 12rem;
        overflow-wrap: anywhere;
      }
      .meta {
        margin: 0.35rem 0 0;
        font-size: 0.8125rem;
      }
      .why {
        margin: 0.5rem 0 0;
        font-size: 0.875rem;
      }
      ul.errors {
        margin: 0.5rem 0 0;
        padding: 0;
        list-style: none;
        border-left: 3px solid var(--tp-error-fg, #a4161a);
        background: var(--tp-error-soft, #fdf3f2);
        border-radius: 0 6px 6px 0;
      }
      ul.errors li {
        padding: 0.4rem 0.75rem;
        font-size: 0.875rem;
        overflow-wrap: anywhere;
      }
      ul.errors li + li {
        border-top: 1px solid var(--tp-border, #d8dde3);
      }
      .where {
        font-weight: 600;
        color: var(--tp-error-fg, #a4161a);
      }
      .field {
        color: var(--tp-muted, #56606b);
      }
    `,
  ];

  private _sync(s: Sync) {
    const state = syncState(s);
    const ready = condition(s.status?.conditions, 'Ready');
    const errors = s.status?.errors ?? [];
    const applied = s.status?.lastAppliedTime;
    const rev = s.status?.lastAppliedRevision;
    return html`<li class="sync" data-name=${s.metadata.name}>
      <header>
        <span class="name">${s.metadata.name}</span>
        <tp-badge .label=${state.label} .tone=${state.tone}></tp-badge>
        <span class="path mono muted">${s.spec.path}</span>
      </header>
      <p class="meta muted">
        ${
          applied
            ? html`Applied <tp-age .datetime=${applied}></tp-age> ago${rev ? html` · revision <span class="mono">${rev.slice(0, 12)}</span>` : nothing}`
            : 'Not applied yet'
        }
      </p>
      ${
        state.label !== 'Ready' && ready?.message && errors.length === 0
          ? html`<p class="why"><strong>${ready.reason}</strong> ${ready.message}</p>`
          : nothing
      }
      ${
        errors.length
          ? html`<ul class="errors" aria-label=${`Errors in ${s.metadata.name}`}>
            ${errors.map(
              (c) => html`<li>
                ${causeLocation(c) ? html`<span class="where mono">${causeLocation(c)}</span> ` : nothing}
                ${c.field ? html`<span class="field mono">${c.field}</span> ` : nothing}${c.message}
              </li>`,
            )}
          </ul>`
          : nothing
      }
    </li>`;
  }

  override render() {
    const list = [...this.syncs].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    if (list.length === 0) {
      return html`<p class="empty">
        ${this.loaded ? html`No sync folders. <code>tidepool serve --sync-dir DIR</code> follows one.` : 'Loading…'}
      </p>`;
    }
    return html`<ul class="syncs">
      ${repeat(
        list,
        (s) => s.metadata.name,
        (s) => this._sync(s),
      )}
    </ul>`;
  }
}

customElements.define('tp-syncs', TpSyncs);

declare global {
  interface HTMLElementTagNameMap {
    'tp-syncs': TpSyncs;
  }
}
