import { LitElement, css, html, nothing } from 'lit';
import { ActionState } from '../action.js';
import { errorMessage } from '../../../specs/errors.js';
import { baseStyles, buttonStyles } from '../styles.js';

/** Wakes or puts to sleep one Workspace through the API; resolves when the API accepted it. */
export type SleepOrWake = (name: string, verb: 'wake' | 'sleep') => Promise<unknown>;

/**
 * Wake (while the workspace sleeps) or Sleep (while it runs and should): unlike Stop, Sleep
 * keeps spec.running true, so opening the IDE wakes it again. Hidden in the other phases.
 */
export class TpSleepButton extends LitElement {
  static override properties = {
    name: { type: String },
    phase: { type: String },
    running: { type: Boolean },
    action: { attribute: false },
  };

  /** The Workspace's name. */
  declare name: string;
  /** The Workspace's status.phase: Sleeping shows Wake, Running shows Sleep. */
  declare phase: string | undefined;
  /** The Workspace's spec.running: a stopped workspace neither sleeps nor wakes. */
  declare running: boolean;
  /** What the button calls; the page wires it to POST /api/v1/workspaces/{name}/wake|sleep. */
  declare action: SleepOrWake | undefined;
  private readonly _req = new ActionState(this);

  constructor() {
    super();
    this.name = '';
    this.running = false;
  }

  static override styles = [
    baseStyles,
    buttonStyles,
    css`
      :host {
        display: inline-block;
      }
      button {
        min-width: 6em;
        padding: 0.35em 0.9em;
      }
      .error {
        display: block;
        margin-top: 0.35rem;
        font-size: 0.8125rem;
        color: var(--tp-error-fg, #a4161a);
      }
    `,
  ];

  private get _verb(): 'wake' | 'sleep' | undefined {
    if (!this.running) return undefined;
    if (this.phase === 'Sleeping') return 'wake';
    if (this.phase === 'Running') return 'sleep';
    return undefined;
  }

  private async _onClick(): Promise<void> {
    const verb = this._verb;
    const action = this.action;
    if (!verb || !action || this._req.busy) return;
    await this._req.run(
      () => action(this.name, verb),
      (err) => errorMessage(err) || String(err),
    );
  }

  override render() {
    const verb = this._verb;
    if (!verb) return nothing;
    const label = verb === 'wake' ? 'Wake' : 'Sleep';
    return html`<button type="button" class=${verb === 'wake' ? 'primary' : ''} ?disabled=${this._req.busy || !this.action}
        aria-label=${`${label} ${this.name}`} aria-describedby="error" @click=${this._onClick}>
        ${this._req.busy ? `${label}…` : label}
      </button>
      <span id="error" class="error" role="alert">${this._req.error || nothing}</span>`;
  }
}

customElements.define('tp-sleep-button', TpSleepButton);

declare global {
  interface HTMLElementTagNameMap {
    'tp-sleep-button': TpSleepButton;
  }
}
