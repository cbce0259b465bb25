import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { baseStyles } from '../styles.js';

/** Sets a Workspace's spec.running; resolves when the API accepted it. */
export type SetRunning = (name: string, running: boolean) => Promise<unknown>;

/**
 * Start or Stop for one Workspace: sets spec.running through the API. Disabled while the request
 * is in flight; a failure is shown beside the button until the next attempt.
 */
export class TpPowerButton extends LitElement {
  static override properties = {
    name: { type: String },
    running: { type: Boolean },
    action: { attribute: false },
    disabled: { type: Boolean },
    _busy: { state: true },
    _error: { state: true },
  };

  /** The Workspace's name. */
  declare name: string;
  /** The Workspace's spec.running: true shows Stop, false shows Start. */
  declare running: boolean;
  /** What the button calls; the page wires it to PATCH /api/v1/workspaces/{name}. */
  declare action: SetRunning | undefined;
  /** Nothing to start or stop (say the Workspace is being deleted). */
  declare disabled: boolean;
  private declare _busy: boolean;
  private declare _error: string;

  constructor() {
    super();
    this.name = '';
    this.running = false;
    this.disabled = false;
    this._busy = false;
    this._error = '';
  }

  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      button {
        font: inherit;
        font-size: 0.875rem;
        font-weight: 600;
        /* Fits "Stopping…": the row does not move when the label changes. */
        min-width: 7.5em;
        padding: 0.35em 0.9em;
        border-radius: 6px;
        border: 1px solid var(--tp-border-strong, #b6bec8);
        background: var(--tp-surface, #fff);
        color: var(--tp-text, #1b1f24);
        cursor: pointer;
      }
      button:hover:not(:disabled) {
        background: var(--tp-hover, #f0f3f6);
      }
      button.start {
        border-color: var(--tp-accent, #0b5cc2);
        background: var(--tp-accent, #0b5cc2);
        color: var(--tp-on-accent, #fff);
      }
      button.start:hover:not(:disabled) {
        background: var(--tp-accent-hover, #094a9c);
      }
      button:disabled {
        cursor: progress;
        opacity: 0.65;
      }
      .error {
        display: block;
        margin-top: 0.35rem;
        max-width: 18rem;
        font-size: 0.8125rem;
        color: var(--tp-error-fg, #a4161a);
        overflow-wrap: anywhere;
      }
    `,
  ];

  protected override willUpdate(changed: PropertyValues<this>): void {
    // A new desired state from the API settles an earlier failure.
    if (changed.has('running') && changed.get('running') !== undefined) this._error = '';
  }

  private async _onClick(): Promise<void> {
    if (this._busy || this.disabled || !this.action) return;
    const target = !this.running;
    this._busy = true;
    this._error = '';
    try {
      await this.action(this.name, target);
    } catch (err) {
      this._error = (err as Error).message || String(err);
    } finally {
      this._busy = false;
    }
  }

  override render() {
    const verb = this.running ? 'Stop' : 'Start';
    const label = this._busy ? (this.running ? 'Stopping…' : 'Starting…') : verb;
    return html`<button
        type="button"
        class=${this.running ? 'stop' : 'start'}
        ?disabled=${this._busy || this.disabled || !this.action}
        aria-label=${`${verb} ${this.name}`}
        aria-describedby="error"
        @click=${this._onClick}
      >
        ${label}
      </button>
      <span id="error" class="error" role="alert">${this._error || nothing}</span>`;
  }
}

customElements.define('tp-power-button', TpPowerButton);

declare global {
  interface HTMLElementTagNameMap {
    'tp-power-button': TpPowerButton;
  }
}
