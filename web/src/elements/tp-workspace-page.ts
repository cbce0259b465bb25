import { LitElement, html, nothing } from 'lit';
import { API_BASE, type Event, type Port, type Sync, type UiConfig, type Workspace } from '../api.js';
import { APP_BASE } from '../router.js';
import { describeOwner, extras, humanStatus, syncOwner } from '../status.js';
import { baseStyles, controlStyles, tableStyles } from '../styles.js';
import { toYaml } from '../yaml.js';
import { pageStyles } from './tp-workspace-page.styles.js';
import { phaseTone } from './tp-badge.js';
import { ideLink } from './ide-link.js';
import type { SetRunning } from './tp-power-button.js';
import type { SleepOrWake } from './tp-sleep-button.js';
import type { PortActions } from './tp-ports.js';
import type { RequestDelete } from './tp-workspaces.js';
import './tp-age.js';
import './tp-badge.js';
import './tp-events.js';
import './tp-ports.js';
import './tp-power-button.js';
import './tp-sleep-button.js';
import './tp-time.js';
import './tp-usage-panel.js';

/** The object as `tidepool apply` takes it: without the server's bookkeeping. */
export function manifestOf(ws: Workspace): Record<string, unknown> {
  const { managedFields: _m, ...metadata } = ws.metadata as Workspace['metadata'] & { managedFields?: unknown };
  return {
    apiVersion: ws.apiVersion,
    kind: ws.kind,
    metadata,
    spec: ws.spec,
    ...(ws.status ? { status: ws.status } : {}),
  };
}

/**
 * One workspace (at /app/workspaces/NAME): phase and where it stands, IDE, Start / Stop, Delete;
 * its conditions with reasons and messages, ports, events, IP, instance, last access, which sync
 * owns it, and its YAML (read-only, copyable).
 */
export class TpWorkspacePage extends LitElement {
  static override properties = {
    name: { type: String },
    workspace: { attribute: false },
    loaded: { type: Boolean },
    ports: { attribute: false },
    events: { attribute: false },
    eventsLoaded: { type: Boolean },
    syncs: { attribute: false },
    config: { attribute: false },
    action: { attribute: false },
    sleepAction: { attribute: false },
    portActions: { attribute: false },
    requestDelete: { attribute: false },
    base: { type: String },
    _copied: { state: true },
  };

  declare name: string;
  /** The API base of the namespace shown (api.ts namespaceBase): the usage graphs read it. */
  declare base: string;
  declare workspace: Workspace | undefined;
  /** False until the first list of workspaces arrived. */
  declare loaded: boolean;
  declare ports: Port[];
  declare events: Event[];
  declare eventsLoaded: boolean;
  declare syncs: Sync[];
  declare config: UiConfig;
  declare action: SetRunning | undefined;
  /** Wake or Sleep; the app wires it to the API. */
  declare sleepAction: SleepOrWake | undefined;
  declare portActions: PortActions | undefined;
  declare requestDelete: RequestDelete | undefined;
  declare private _copied: string;

  constructor() {
    super();
    this.name = '';
    this.base = API_BASE;
    this.loaded = false;
    this.ports = [];
    this.events = [];
    this.eventsLoaded = false;
    this.syncs = [];
    this.config = { workspaceBaseUrl: '' };
    this._copied = '';
  }

  static override styles = [baseStyles, controlStyles, tableStyles, pageStyles];

  private async _copy(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this._copied = 'Copied';
    } catch {
      // No clipboard (a page on plain HTTP): select the text so that Ctrl+C copies it.
      const pre = this.renderRoot.querySelector('pre');
      const sel = window.getSelection();
      if (pre && sel) {
        sel.selectAllChildren(pre);
        this._copied = 'Selected: press Ctrl+C to copy';
      }
    }
  }

  private _details(ws: Workspace) {
    const owner = syncOwner(ws, this.syncs);
    const x = extras(ws);
    const dash = html`<span class="muted">—</span>`;
    return html`<dl>
      <dt>Image</dt>
      <dd class="mono">${ws.spec.image}</dd>
      <dt>Resources</dt>
      <dd class="num">${ws.spec.resources.cpu} CPU · ${ws.spec.resources.memory}</dd>
      <dt>IP address</dt>
      <dd class="mono">${ws.status?.ip || dash}</dd>
      ${ws.status?.node ? html`<dt>Cluster member</dt><dd class="mono">${ws.status.node}</dd>` : ''}
      <dt>Instance</dt>
      <dd class="mono">${x.instance || html`<span class="muted">not reported by this server</span>`}</dd>
      <dt>Created</dt>
      <dd><tp-time .datetime=${ws.metadata.creationTimestamp ?? ''}></tp-time></dd>
      <dt>Last started</dt>
      <dd>${ws.status?.lastStartedTime ? html`<tp-age .datetime=${ws.status.lastStartedTime}></tp-age> ago` : dash}</dd>
      <dt>Sleeps when idle for</dt>
      <dd>${ws.spec.idleTimeout && ws.spec.idleTimeout !== '0' ? html`<span class="mono">${ws.spec.idleTimeout}</span> <span class="muted">(wakes when opened)</span>` : html`<span class="muted">${ws.spec.idleTimeout === '0' ? 'never' : 'the server’s default'}</span>`}</dd>
      ${ws.status?.sleep ? html`<dt>Asleep since</dt><dd><tp-age .datetime=${ws.status.sleep.since}></tp-age> ago <span class="muted">(${ws.status.sleep.reason})</span></dd>` : nothing}
      <dt>Last access</dt>
      <dd>${x.lastAccessTime ? html`<tp-age .datetime=${x.lastAccessTime}></tp-age> ago` : html`<span class="muted">${this.config.reportsAccess ? 'never opened' : 'not reported by this server'}</span>`}</dd>
      <dt>Owned by</dt>
      <dd class="owner">${owner ? `${describeOwner(owner)[0]!.toUpperCase()}${describeOwner(owner).slice(1)}` : html`<span class="muted">No sync: made through the API or the UI</span>`}</dd>
    </dl>`;
  }

  private _conditions(ws: Workspace) {
    const conditions = ws.status?.conditions ?? [];
    if (!conditions.length) return html`<p class="empty">No conditions yet: the controller has not looked at it.</p>`;
    return html`<div class="cond-table"><table class="conditions">
      <thead>
        <tr><th scope="col">Condition</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th><th scope="col">Since</th></tr>
      </thead>
      <tbody>
        ${conditions.map(
          (c) => html`<tr data-type=${c.type}>
            <td><strong>${c.type}</strong></td>
            <td><tp-badge .label=${c.status} .tone=${c.status === 'True' ? 'ok' : c.status === 'False' ? 'warn' : 'neutral'}></tp-badge></td>
            <td class="mono">${c.reason}</td>
            <td class="message">${c.message}</td>
            <td><tp-age .datetime=${c.lastTransitionTime}></tp-age></td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  override render() {
    const back = html`<a class="back" href=${APP_BASE}><span aria-hidden="true">← </span>All workspaces</a>`;
    const ws = this.workspace;
    if (!ws) {
      return html`${back}
        <div class="card"><p class="empty" role="status">${this.loaded ? html`There is no workspace named <strong>${this.name}</strong> (any more).` : 'Loading…'}</p></div>`;
    }
    const name = ws.metadata.name;
    const deleting = Boolean(ws.metadata.deletionTimestamp);
    const phase = deleting ? 'Deleting' : (ws.status?.phase ?? 'Pending');
    const yaml = toYaml(manifestOf(ws));
    return html`${back}
      <div class="card">
        <div class="head">
          <h2 id="ws-title">${name}</h2>
          <span class="ns" title="namespace">namespace ${ws.metadata.namespace ?? 'default'}</span>
          <tp-badge .label=${phase} .tone=${phaseTone(phase)}></tp-badge>
          <span class="controls">
            ${ideLink(this.config, ws, 'Open IDE')}
            <tp-sleep-button .name=${name} .running=${ws.spec.running && !deleting} .phase=${ws.status?.phase} .action=${this.sleepAction}></tp-sleep-button>
            <tp-power-button .name=${name} .running=${ws.spec.running} .phase=${ws.status?.phase} .disabled=${deleting} .action=${this.action}></tp-power-button>
            <button type="button" class="danger" aria-label=${`Delete ${name}`} ?disabled=${deleting || !this.requestDelete}
              @click=${(e: MouseEvent) => this.requestDelete?.(name, e.currentTarget as HTMLElement)}>Delete</button>
          </span>
        </div>
        <p class="summary" role="status">${humanStatus(ws)}</p>
      </div>
      <section aria-labelledby="h-usage">
        <h3 id="h-usage">Usage, last hour</h3>
        <div class="card"><tp-usage-panel .name=${name} .base=${this.base}></tp-usage-panel></div>
      </section>
      <div class="grid">
        <div>
          <section aria-labelledby="h-details">
            <h3 id="h-details">Details</h3>
            <div class="card">${this._details(ws)}</div>
          </section>
          <section aria-labelledby="h-ports">
            <h3 id="h-ports">Ports</h3>
            <div class="card">
              <tp-ports .workspace=${ws} .ports=${this.ports} .config=${this.config} .actions=${this.portActions}></tp-ports>
            </div>
          </section>
        </div>
        <div>
          <section aria-labelledby="h-conditions">
            <h3 id="h-conditions">Conditions</h3>
            <div class="card">${this._conditions(ws)}</div>
          </section>
          <section aria-labelledby="h-ws-events">
            <h3 id="h-ws-events">Events</h3>
            <div class="card">
              <tp-events .events=${this.events} .ports=${this.ports} .workspace=${name} .loaded=${this.eventsLoaded} .limit=${30}></tp-events>
            </div>
          </section>
        </div>
      </div>
      <section class="yaml" aria-labelledby="h-yaml">
        <h3 id="h-yaml">YAML</h3>
        <div class="card">
          <div class="yaml-bar">
            <span class="muted" aria-live="polite">${this._copied || 'Read-only; apply changes with tidepool apply.'}</span>
            <button type="button" @click=${() => this._copy(yaml)}>Copy YAML</button>
          </div>
          <pre class="mono" tabindex="0" aria-label=${`YAML of ${name}`}>${yaml}</pre>
        </div>
      </section>
      ${nothing}`;
  }
}

customElements.define('tp-workspace-page', TpWorkspacePage);

declare global {
  interface HTMLElementTagNameMap {
    'tp-workspace-page': TpWorkspacePage;
  }
}
