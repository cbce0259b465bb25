import { LitElement, css, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Event } from '../api.js';
import { parseTime } from '../time.js';
import { baseStyles } from '../styles.js';
import './tp-age.js';
import './tp-time.js';
import './tp-badge.js';

/** Newest first: by lastTimestamp, then by resourceVersion. */
export function newestFirst(events: readonly Event[]): Event[] {
  const t = (e: Event) => parseTime(e.lastTimestamp) ?? parseTime(e.metadata.creationTimestamp) ?? 0;
  const rv = (e: Event) => Number(e.metadata.resourceVersion ?? 0) || 0;
  return [...events].sort((a, b) => t(b) - t(a) || rv(b) - rv(a));
}

/** The most recent Events, newest first; Warnings are marked. */
export class TpEvents extends LitElement {
  static override properties = {
    events: { attribute: false },
    limit: { type: Number },
    loaded: { type: Boolean },
  };

  /** The Events to show (any order). */
  declare events: Event[];
  /** How many of the most recent to show. */
  declare limit: number;
  /** False until the first list arrived. */
  declare loaded: boolean;

  constructor() {
    super();
    this.events = [];
    this.limit = 50;
    this.loaded = false;
  }

  static override styles = [
    baseStyles,
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

  override render() {
    const list = newestFirst(this.events).slice(0, this.limit);
    if (list.length === 0) return html`<p class="empty">${this.loaded ? 'No events.' : 'Loading…'}</p>`;
    return html`<ol aria-label="Events, newest first">
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
