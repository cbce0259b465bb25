import { LitElement, css, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Event } from '../api.js';
import { parseTime } from '../time.js';
import { baseStyles, tableStyles } from '../styles.js';
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
    tableStyles,
    css`
      tr.warning td:first-child {
        box-shadow: inset 3px 0 0 var(--tp-warn-dot, #d98c00);
      }
      .when {
        white-space: nowrap;
      }
      .when tp-age {
        display: block;
        font-size: 0.8125rem;
      }
      .object {
        overflow-wrap: anywhere;
      }
      .kind {
        font-size: 0.8125rem;
      }
      .reason {
        font-weight: 600;
        white-space: nowrap;
      }
      .note {
        overflow-wrap: anywhere;
      }
      .count {
        font-size: 0.8125rem;
      }
      th.type {
        width: 6.5rem;
      }
      @media (max-width: 760px) {
        tr.warning td:first-child {
          box-shadow: none;
        }
        tr.warning {
          box-shadow: inset 3px 0 0 var(--tp-warn-dot, #d98c00);
        }
      }
    `,
  ];

  override render() {
    const list = newestFirst(this.events).slice(0, this.limit);
    if (list.length === 0) return html`<p class="empty">${this.loaded ? 'No events.' : 'Loading…'}</p>`;
    return html`<table>
      <thead>
        <tr>
          <th scope="col">Last seen</th>
          <th scope="col" class="type">Type</th>
          <th scope="col">Object</th>
          <th scope="col">Reason</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        ${repeat(
          list,
          (e) => e.metadata.name,
          (e) => {
            const warning = e.type === 'Warning';
            return html`<tr class=${warning ? 'warning' : 'normal'} data-name=${e.metadata.name}>
              <td data-label="Last seen" class="when">
                <tp-time .datetime=${e.lastTimestamp}></tp-time>
                <tp-age class="muted" .datetime=${e.lastTimestamp}></tp-age>
              </td>
              <td data-label="Type">
                <tp-badge .label=${e.type} .tone=${warning ? 'warn' : 'neutral'}></tp-badge>
              </td>
              <td data-label="Object" class="object">
                <span class="kind muted">${e.regarding.kind}/</span>${e.regarding.name}
              </td>
              <td data-label="Reason" class="reason">${e.reason}</td>
              <td data-label="Message" class="note">
                ${e.note}${e.count > 1 ? html` <span class="count muted num">×${e.count}</span>` : nothing}
              </td>
            </tr>`;
          },
        )}
      </tbody>
    </table>`;
  }
}

customElements.define('tp-events', TpEvents);

declare global {
  interface HTMLElementTagNameMap {
    'tp-events': TpEvents;
  }
}
