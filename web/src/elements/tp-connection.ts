import { LitElement, css, html } from 'lit';
import type { ConnectionState } from '../store.js';

const TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

/** Whether the page is following the API live, or has lost the connection and is reconnecting. */
export class TpConnection extends LitElement {
  static override properties = {
    state: { type: String, reflect: true },
  };

  /** connecting (first load), live (every watch open), reconnecting (a watch dropped; retrying). */
  declare state: ConnectionState;

  constructor() {
    super();
    this.state = 'connecting';
  }

  static override styles = css`
    :host {
      display: inline-block;
    }
    div {
      display: inline-flex;
      align-items: center;
      gap: 0.45em;
      /* The widest text fits: no jump when the state changes. */
      min-width: 9.5em;
      justify-content: flex-end;
      font-size: 0.875rem;
      font-weight: 600;
      color: var(--tp-muted, #56606b);
    }
    i {
      width: 0.6em;
      height: 0.6em;
      border-radius: 50%;
      background: var(--tp-neutral-fg, #8a939d);
    }
    :host([state='live']) i {
      background: var(--tp-ok-dot, #1f9d47);
    }
    :host([state='reconnecting']) div {
      color: var(--tp-warn-fg, #7a4a00);
    }
    :host([state='reconnecting']) i {
      background: var(--tp-warn-dot, #d98c00);
      animation: blink 1s steps(2, start) infinite;
    }
    @keyframes blink {
      to {
        visibility: hidden;
      }
    }
    @media (prefers-reduced-motion: reduce) {
      :host([state='reconnecting']) i {
        animation: none;
      }
    }
  `;

  override render() {
    return html`<div role="status" aria-live="polite"><i aria-hidden="true"></i><span>${TEXT[this.state] ?? this.state}</span></div>`;
  }
}

customElements.define('tp-connection', TpConnection);

declare global {
  interface HTMLElementTagNameMap {
    'tp-connection': TpConnection;
  }
}
