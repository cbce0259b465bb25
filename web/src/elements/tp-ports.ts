import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import {
  ApiError,
  condition,
  portUrl,
  type Port,
  type PortProbe,
  type PortShare,
  type PortVisibility,
  type UiConfig,
  type Workspace,
} from '../api.js';
import { ActionState } from '../action.js';
import { errorMessage } from '../../../specs/errors.js';
import { ideState } from '../status.js';
import { baseStyles, controlStyles } from '../styles.js';
import './tp-badge.js';

/** DESIGN.md: at most 5 Ports may name one Workspace (specs/port.ts MAX_PORTS_PER_WORKSPACE; the API enforces it). */
export const PORT_LIMIT = 5;

export interface PortActions {
  add(workspace: string, port: number): Promise<unknown>;
  remove(name: string): Promise<unknown>;
  probe(name: string): Promise<PortProbe>;
  /** Who may open it: private (you and admins), team (anyone signed in), public (anyone with the link). */
  setVisibility?(name: string, visibility: PortVisibility): Promise<unknown>;
  /** The share link of a public Port; `rotate` makes a new one. */
  share?(name: string, rotate?: boolean): Promise<PortShare>;
}

const VISIBILITIES: readonly PortVisibility[] = ['private', 'team', 'public'];

type ProbeState = PortProbe | 'checking' | { error: string };

/**
 * The published ports of one workspace: each with its link (while the workspace is Ready), whether
 * it is routed, and whether something answers on it (asked of the server when the list or the
 * workspace's address changes, and on "Check again"); a form to add one and a button to remove each.
 */
export class TpPorts extends LitElement {
  static override properties = {
    workspace: { attribute: false },
    ports: { attribute: false },
    config: { attribute: false },
    actions: { attribute: false },
    _probes: { state: true },
    _links: { state: true },
  };

  declare workspace: Workspace | undefined;
  /** Every Port; those naming this workspace are shown. */
  declare ports: Port[];
  declare config: UiConfig;
  declare actions: PortActions | undefined;
  declare private _probes: Record<string, ProbeState>;
  /** Share links asked for, by Port name (shown to the owner of a public Port). */
  declare private _links: Record<string, string>;
  /** Adding or removing a port: in flight (adding), and why it failed. */
  private readonly _change = new ActionState(this);
  private _probedKey = '';

  constructor() {
    super();
    this.ports = [];
    this.config = { workspaceBaseUrl: '' };
    this._probes = {};
    this._links = {};
  }

  static override styles = [
    baseStyles,
    controlStyles,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: grid;
        grid-template-columns: 5.5rem minmax(0, 1fr) auto;
        gap: 0.25rem 0.75rem;
        align-items: center;
        padding: 0.6rem 0.75rem;
        border-bottom: 1px solid var(--tp-border, #d8dde3);
      }
      .port {
        font-weight: 600;
      }
      .state {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.6rem;
        align-items: center;
        font-size: 0.875rem;
        min-width: 0;
      }
      .state .why {
        overflow-wrap: anywhere;
      }
      .share {
        grid-column: 1 / -1;
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
        font-size: 0.8125rem;
      }
      .share input {
        flex: 1 1 16rem;
        min-width: 0;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: flex-end;
        gap: 0.5rem 0.75rem;
        padding: 0.75rem;
      }
      form .field {
        flex: 0 1 10rem;
      }
      form .field label {
        margin-bottom: 0.2rem;
      }
      .limit {
        flex: 1 1 12rem;
        margin: 0;
        font-size: 0.8125rem;
        color: var(--tp-muted, #56606b);
        align-self: center;
      }
      .errors {
        flex-basis: 100%;
      }
      .toolbar {
        display: flex;
        justify-content: flex-end;
        padding: 0.4rem 0.75rem 0;
      }
      button.small {
        font-size: 0.8125rem;
        padding: 0.25em 0.7em;
      }
      @media (max-width: 520px) {
        li {
          grid-template-columns: minmax(0, 1fr) auto;
        }
        .state {
          grid-column: 1 / -1;
          grid-row: 2;
        }
      }
    `,
  ];

  private get _mine(): Port[] {
    const name = this.workspace?.metadata.name;
    return this.ports
      .filter((p) => p.spec.workspace === name && !p.metadata.deletionTimestamp)
      .sort((a, b) => a.spec.port - b.spec.port);
  }

  protected override updated(_changed: PropertyValues<this>): void {
    // Ask again when the set of ports or the workspace's address changes, not on every status write.
    const key = `${this.workspace?.status?.ip ?? ''}|${this._mine.map((p) => p.metadata.name).join(',')}`;
    if (key !== this._probedKey && this.actions) {
      this._probedKey = key;
      void this.probeAll();
    }
  }

  /** Asks the server, for each port, whether something answers on it now. */
  async probeAll(): Promise<void> {
    const actions = this.actions;
    if (!actions) return;
    await Promise.all(
      this._mine.map(async (p) => {
        const name = p.metadata.name;
        this._probes = { ...this._probes, [name]: 'checking' };
        let result: ProbeState;
        try {
          result = await actions.probe(name);
        } catch (err) {
          result = { error: errorMessage(err) };
        }
        this._probes = { ...this._probes, [name]: result };
      }),
    );
  }

  private async _add(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const ws = this.workspace?.metadata.name;
    const actions = this.actions;
    if (!ws || !actions || this._change.busy) return;
    const input = this.renderRoot.querySelector('#new-port') as HTMLInputElement;
    const raw = input.value.trim();
    this._change.error = '';
    if (!/^\d+$/.test(raw)) {
      this._change.error = 'Give a port number, 1024–65535.';
      input.focus();
      return;
    }
    await this._change.run(
      async () => {
        await actions.add(ws, Number(raw));
        input.value = '';
      },
      (err) => {
        input.focus();
        const causes = err instanceof ApiError ? err.causes : [];
        return causes.length ? causes.map((c) => c.message).join(' ') : errorMessage(err);
      },
    );
  }

  private async _remove(p: Port): Promise<void> {
    if (!this.actions) return;
    // Not busy meanwhile: a remove does not hold up adding one.
    this._change.error = '';
    try {
      await this.actions.remove(p.metadata.name);
    } catch (err) {
      this._change.error = errorMessage(err);
    }
  }

  private async _setVisibility(p: Port, e: Event): Promise<void> {
    const visibility = (e.target as HTMLSelectElement).value as PortVisibility;
    this._change.error = '';
    try {
      await this.actions?.setVisibility?.(p.metadata.name, visibility);
    } catch (err) {
      this._change.error = errorMessage(err);
    }
  }

  private async _share(p: Port, rotate: boolean): Promise<void> {
    if (!this.actions?.share) return;
    this._change.error = '';
    try {
      const s = await this.actions.share(p.metadata.name, rotate);
      // The link goes by the workspace server, which sends a Port's paths on to the preview server.
      this._links = {
        ...this._links,
        [p.metadata.name]: `${this.config.workspaceBaseUrl.replace(/\/+$/, '')}${s.path}`,
      };
    } catch (err) {
      this._change.error = errorMessage(err);
    }
  }

  private _shareRow(p: Port) {
    if ((p.spec.visibility ?? 'private') !== 'public') return nothing;
    const link = this._links[p.metadata.name];
    const n = p.spec.port;
    return html`<div class="share">
      ${
        link
          ? html`<input readonly aria-label=${`Share link of port ${n}`} .value=${link} @focus=${(e: Event) => (e.target as HTMLInputElement).select()} />
            <button type="button" class="small" @click=${() => this._share(p, true)}>New link</button>`
          : html`<span class="muted">Anyone with the link opens it, without signing in.</span>
            <button type="button" class="small" @click=${() => this._share(p, false)}>Show link</button>`
      }
    </div>`;
  }

  private _answer(name: string) {
    const s = this._probes[name];
    if (s === undefined) return nothing;
    if (s === 'checking') return html`<span class="muted answer">Checking…</span>`;
    if ('error' in s) return html`<span class="muted answer">Could not check: ${s.error}</span>`;
    return html`<tp-badge class="answer" .label=${s.answering ? 'Answers' : 'No answer'} .tone=${s.answering ? 'ok' : 'neutral'}></tp-badge>
      ${s.answering ? nothing : html`<span class="why muted">${s.message}</span>`}`;
  }

  private _row(p: Port, wsOpen: boolean) {
    const ws = this.workspace!.metadata.name;
    const n = p.spec.port;
    const routed = condition(p.status?.conditions)?.status === 'True';
    return html`<li data-port=${n} data-name=${p.metadata.name}>
      <span class="port mono num">
        ${
          wsOpen && routed
            ? html`<a href=${portUrl(this.config, ws, n, this.workspace!.metadata.namespace)} target="_blank" rel="noopener noreferrer"
              ><span class="visually-hidden">Port </span>:${n}<span aria-hidden="true"> ↗</span></a
            >`
            : html`:${n}`
        }
      </span>
      <span class="state">
        ${this._answer(p.metadata.name)}
        ${routed ? nothing : html`<span class="muted">Not routed: the workspace is not ready.</span>`}
      </span>
      <span>
        <select class="small" aria-label=${`Who may open port ${n}`} @change=${(e: Event) => this._setVisibility(p, e)}>
          ${VISIBILITIES.map((v) => html`<option value=${v} ?selected=${(p.spec.visibility ?? 'private') === v}>${v}</option>`)}
        </select>
        <button type="button" class="small" aria-label=${`Remove port ${n}`} @click=${() => this._remove(p)}>Remove</button>
      </span>
      ${this._shareRow(p)}
    </li>`;
  }

  override render() {
    const ws = this.workspace;
    if (!ws) return nothing;
    const mine = this._mine;
    const full = mine.length >= PORT_LIMIT;
    const wsOpen = ideState(ws).open;
    return html`${
      mine.length
        ? html`<div class="toolbar">
              <button type="button" class="small" @click=${() => this.probeAll()}>Check again</button>
            </div>
            <ul aria-label="Published ports">
              ${repeat(
                mine,
                (p) => p.metadata.name,
                (p) => this._row(p, wsOpen),
              )}
            </ul>`
        : html`<p class="empty">No published ports. Add one to reach a server running in the workspace.</p>`
    }
      <form novalidate @submit=${this._add}>
        <div class="field">
          <label for="new-port">Port</label>
          <input id="new-port" name="port" type="number" inputmode="numeric" min="1024" max="65535" placeholder="3000"
            aria-invalid=${this._change.error ? 'true' : 'false'} aria-describedby="port-error port-limit" ?disabled=${full} />
        </div>
        <button type="submit" class="primary" ?disabled=${full || this._change.busy}>Add port</button>
        <p class="limit" id="port-limit">${mine.length} of ${PORT_LIMIT}${full ? ': remove one to add another' : ''}</p>
        <p class="field-error errors" id="port-error" role="alert">${this._change.error}</p>
      </form>`;
  }
}

customElements.define('tp-ports', TpPorts);

declare global {
  interface HTMLElementTagNameMap {
    'tp-ports': TpPorts;
  }
}
