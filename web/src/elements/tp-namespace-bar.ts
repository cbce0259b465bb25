import { LitElement, css, html, nothing } from 'lit';
import type { QuotaUsage } from '../api.js';

/**
 * The namespace the page shows and its use against its quota. An admin picks any namespace
 * (a `namespace-change` event with the name, '' for their own); anyone else sees their own.
 */
export class TpNamespaceBar extends LitElement {
  static override properties = {
    namespaces: { attribute: false },
    namespace: { type: String },
    admin: { type: Boolean },
    usage: { attribute: false },
  };

  /** The namespaces an admin may pick (every one that has a workspace or a quota). */
  declare namespaces: string[];
  /** The namespace shown; '' is the person's own. */
  declare namespace: string;
  /** Shows the picker. */
  declare admin: boolean;
  /** The shown namespace's use against its quota; undefined until read. */
  declare usage: QuotaUsage | undefined;

  constructor() {
    super();
    this.namespaces = [];
    this.namespace = '';
    this.admin = false;
  }

  static override styles = css`
    :host {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.75rem;
      min-width: 0;
      font-size: 0.875rem;
    }
    select {
      font: inherit;
    }
    .quota {
      font-variant-numeric: tabular-nums;
      overflow-wrap: anywhere;
    }
  `;

  private _pick(e: Event): void {
    const value = (e.target as HTMLSelectElement).value;
    this.dispatchEvent(new CustomEvent('namespace-change', { detail: value, bubbles: true, composed: true }));
  }

  private _quota(u: QuotaUsage | undefined) {
    if (!u) return nothing;
    const of = (used: string | number, limit: string | number | undefined) =>
      limit === undefined ? `${used}` : `${used} of ${limit}`;
    const text = `${of(u.used.workspaces, u.limits.workspaces)} workspaces · ${of(u.used.cpu, u.limits.cpu)} vCPUs · ${of(u.used.memory, u.limits.memory)} memory`;
    return html`<span class="quota" title=${u.quota ? `quota "${u.quota}"` : 'no quota'}
      >${u.namespace}: ${text}${u.quota ? nothing : ' (no quota)'}</span
    >`;
  }

  override render() {
    const picker = this.admin
      ? html`<label
          >Namespace
          <select @change=${this._pick} aria-label="Namespace">
            <option value="" ?selected=${this.namespace === ''}>mine</option>
            ${this.namespaces.map((n) => html`<option value=${n} ?selected=${n === this.namespace}>${n}</option>`)}
          </select></label
        >`
      : nothing;
    return html`${picker}${this._quota(this.usage)}`;
  }
}

customElements.define('tp-namespace-bar', TpNamespaceBar);

declare global {
  interface HTMLElementTagNameMap {
    'tp-namespace-bar': TpNamespaceBar;
  }
}
