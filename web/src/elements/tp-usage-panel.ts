import { LitElement, css, html } from 'lit';
import { API_BASE } from '../api.js';
import { baseStyles } from '../styles.js';
import { UsagePoller, showBytes, showCores, type UsageState } from '../usage.js';
import './tp-usage-graph.js';

/**
 * A workspace's CPU and memory over the last hour (its page), from the server's samples;
 * refreshed every sample while shown.
 */
export class TpUsagePanel extends LitElement {
  static override properties = {
    name: { type: String },
    base: { type: String },
    _state: { state: true },
  };

  declare name: string;
  /** The API base of the workspace's namespace (api.ts namespaceBase). */
  declare base: string;
  declare private _state: UsageState;
  #poller: UsagePoller | undefined;

  constructor() {
    super();
    this.name = '';
    this.base = API_BASE;
    this._state = { loading: true };
  }

  static override styles = [
    baseStyles,
    css`
      .graphs {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
        gap: 1rem;
        padding: 0.75rem;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.#restart();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#poller?.stop();
  }

  override updated(changed: Map<string, unknown>): void {
    if (
      (changed.has('name') && changed.get('name') !== undefined) ||
      (changed.has('base') && changed.get('base') !== undefined)
    )
      this.#restart();
  }

  #restart(): void {
    this.#poller?.stop();
    this._state = { loading: true };
    if (!this.name) return;
    this.#poller = new UsagePoller(
      `workspace=${encodeURIComponent(this.name)}&history=true`,
      (s) => (this._state = s),
      this.base,
    );
    this.#poller.start();
  }

  override render() {
    const s = this._state;
    if ('loading' in s) return html`<p class="empty">Loading…</p>`;
    if ('unsupported' in s) return html`<p class="empty">This server does not tell what workspaces use.</p>`;
    const u = s.list.items[0];
    const h = u?.history;
    if (!u || !h?.t.length)
      return html`<p class="empty">No figures yet: usage is sampled while the workspace runs.</p>`;
    const cpuMax = u.cpuLimit ?? Math.max(1, ...h.cpu);
    const memMax = u.memoryLimitBytes ?? Math.max(1, ...h.memory);
    return html`<div class="graphs">
      <tp-usage-graph heading="CPU" .t=${h.t} .values=${h.cpu} .max=${cpuMax} .format=${(v: number) => `${showCores(v)} cores`}></tp-usage-graph>
      <tp-usage-graph heading="Memory" .t=${h.t} .values=${h.memory} .max=${memMax} .format=${showBytes}></tp-usage-graph>
    </div>`;
  }
}

customElements.define('tp-usage-panel', TpUsagePanel);

declare global {
  interface HTMLElementTagNameMap {
    'tp-usage-panel': TpUsagePanel;
  }
}
