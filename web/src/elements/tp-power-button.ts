import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { ActionState } from '../action.js';
import { errorMessage } from '../../../specs/errors.js';
import { powerPending } from '../status.js';
import { baseStyles, buttonStyles } from '../styles.js';

/** Sets a Workspace's spec.running; resolves when the API accepted it. */
export type SetRunning = (name: string, running: boolean) => Promise<unknown>;

/**
 * Start or Stop for one Workspace: sets spec.running through the API. Pending ("Starting…",
 * disabled) while the request is in flight and then until the phase follows (Running after a
 * start, Stopped after a stop); a failure is shown beside the button until the next attempt.
 */
export class TpPowerButton extends LitElement {
  static override properties = {
    name: { type: String },
    running: { type: Boolean },
    action: { attribute: false },
    disabled: { type: Boolean },
    phase: { type: String },
  };

  /** The Workspace's name. */
  declare name: string;
  /** The Workspace's spec.running: true shows Stop, false shows Start. */
  declare running: boolean;
  /** What the button calls; the page wires it to PATCH /api/v1/workspaces/{name}. */
  declare action: SetRunning | undefined;
  /** Nothing to start or stop (say the Workspace is being deleted). */
  declare disabled: boolean;
  /** The Workspace's status.phase: the button waits ("Starting…") until it follows spec.running. */
  declare phase: string | undefined;
  /** The PATCH: in flight, and why it failed. */
  private readonly _set = new ActionState(this);

  constructor() {
    super();
    this.name = '';
    this.running = false;
    this.disabled = false;
  }

  static override styles = [
    baseStyles,
    buttonStyles,
    css`
      :host {
        display: block;
      }
      button {
        /* Fits "Stopping…": the row does not move when the label changes. */
        min-width: 7.5em;
        padding: 0.35em 0.9em;
      }
      button:disabled {
        /* Mostly disabled while the phase catches up: "wait", not "refused". */
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
    if (changed.has('running') && changed.get('running') !== undefined) this._set.error = '';
  }

  private async _onClick(): Promise<void> {
    const action = this.action;
    if (this.pending || this.disabled || !action) return;
    const target = !this.running;
    await this._set.run(
      () => action(this.name, target),
      (err) => errorMessage(err) || String(err),
    );
  }

  /** The request is in flight, or the phase has not followed spec.running yet. */
  get pending(): boolean {
    return this._set.busy || (this.phase !== undefined && powerPending(this.running, this.phase));
  }

  override render() {
    const pending = this.pending && !this.disabled;
    // While a request is in flight, spec.running is about to flip: say what it is becoming.
    const starting = this._set.busy ? !this.running : this.running;
    const verb = this.running ? 'Stop' : 'Start';
    const label = pending ? (starting ? 'Starting…' : 'Stopping…') : verb;
    return html`<button
        type="button"
        class=${this.running ? 'stop' : 'start primary'}
        ?disabled=${pending || this.disabled || !this.action}
        aria-label=${`${pending ? label.slice(0, -1) : verb} ${this.name}`}
        aria-describedby="error"
        @click=${this._onClick}
      >
        ${label}
      </button>
      <span id="error" class="error" role="alert">${this._set.error || nothing}</span>`;
  }
}

customElements.define('tp-power-button', TpPowerButton);

declare global {
  interface HTMLElementTagNameMap {
    'tp-power-button': TpPowerButton;
  }
}
