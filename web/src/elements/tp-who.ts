import { LitElement, css, html } from 'lit';
import type { WhoAmI as Who } from '../../../specs/token.js';
import { API_BASE, request } from '../api.js';

/**
 * Who is signed in, in the header: their name, their namespace and a sign-out button (a form
 * POST to /auth/logout, which only a page of the app origin can send). Nothing on a
 * basic-auth server: a one-person install shows what it always did.
 */
export class TpWho extends LitElement {
  static override properties = {
    who: { attribute: false },
  };

  /** Undefined until whoami answers (and when it cannot). */
  declare who: Who | undefined;

  static override styles = css`
    :host {
      display: inline-flex;
      max-width: 100%;
      min-width: 0;
    }
    /* Nothing to show takes no place in the header (its other items keep where they were). */
    :host([hidden]) {
      display: none;
    }
    .name,
    .ns {
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
      max-width: 20em;
    }
    form {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.5rem;
      margin: 0;
      font-size: 0.875rem;
    }
    .ns {
      color: var(--tp-header-muted, #c9d6e6);
    }
    button {
      font: inherit;
      color: inherit;
      background: transparent;
      border: 1px solid currentColor;
      border-radius: 0.3rem;
      padding: 0.2rem 0.6rem;
      cursor: pointer;
    }
    button:focus-visible {
      outline: 2px solid currentColor;
      outline-offset: 2px;
    }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    // Not in the constructor: a new element may not set its own attributes there.
    this.hidden = !this.who || this.who.authMode === 'basic';
    if (this.who === undefined)
      request<Who>('GET', `${API_BASE}/whoami`).then(
        (w) => {
          this.who = w;
        },
        () => undefined,
      );
  }

  override willUpdate(): void {
    this.hidden = !this.who || this.who.authMode === 'basic';
  }

  override render() {
    const w = this.who;
    if (!w || w.authMode === 'basic') return html``;
    return html`<form method="post" action="/auth/logout" aria-label="Signed in">
      <span class="name" title=${w.name}>${w.name}${w.admin ? ' (admin)' : ''}</span>
      <span class="ns">namespace ${w.namespace}</span>
      ${w.via === 'session' ? html`<button type="submit">Sign out</button>` : ''}
    </form>`;
  }
}

customElements.define('tp-who', TpWho);

declare global {
  interface HTMLElementTagNameMap {
    'tp-who': TpWho;
  }
}
