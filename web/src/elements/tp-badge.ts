import { LitElement, css, html } from 'lit';
import type { WorkspacePhase } from '../api.js';

export type Tone = 'ok' | 'progress' | 'warn' | 'error' | 'neutral';

/** The tone of a Workspace phase: Running is ok, Failed an error, the transitions in progress. */
export function phaseTone(phase: WorkspacePhase | string | undefined): Tone {
  switch (phase) {
    case 'Running':
      return 'ok';
    case 'Pending':
    case 'Creating':
    case 'Starting':
    case 'Stopping':
      return 'progress';
    case 'Deleting':
      return 'warn';
    case 'Failed':
      return 'error';
    default:
      return 'neutral';
  }
}

/**
 * A coloured pill with a dot and a word: a Workspace phase, a Sync state, an Event type.
 * The word carries the meaning; the colour only repeats it.
 */
export class TpBadge extends LitElement {
  static override properties = {
    label: { type: String },
    tone: { type: String, reflect: true },
  };

  /** The text shown. */
  declare label: string;
  /** Colour: ok (green), progress (blue, the dot pulses), warn (amber), error (red), neutral (grey). */
  declare tone: Tone;

  constructor() {
    super();
    this.label = '';
    this.tone = 'neutral';
  }

  static override styles = css`
    :host {
      display: inline-block;
      --fg: var(--tp-neutral-fg, #4a525c);
      --bg: var(--tp-neutral-bg, #eceff2);
    }
    :host([tone='ok']) {
      --fg: var(--tp-ok-fg, #116329);
      --bg: var(--tp-ok-bg, #dcf5e3);
    }
    :host([tone='progress']) {
      --fg: var(--tp-progress-fg, #0a4fa8);
      --bg: var(--tp-progress-bg, #dde9fb);
    }
    :host([tone='warn']) {
      --fg: var(--tp-warn-fg, #7a4a00);
      --bg: var(--tp-warn-bg, #fdefc8);
    }
    :host([tone='error']) {
      --fg: var(--tp-error-fg, #a4161a);
      --bg: var(--tp-error-bg, #fde2e1);
    }
    span {
      display: inline-flex;
      align-items: center;
      gap: 0.4em;
      min-width: 5.6em;
      box-sizing: border-box;
      padding: 0.15em 0.6em;
      border-radius: 999px;
      font-size: 0.8125rem;
      font-weight: 600;
      line-height: 1.4;
      white-space: nowrap;
      color: var(--fg);
      background: var(--bg);
    }
    i {
      width: 0.5em;
      height: 0.5em;
      border-radius: 50%;
      background: currentColor;
      flex: none;
    }
    :host([tone='progress']) i {
      animation: pulse 1.2s ease-in-out infinite;
    }
    @keyframes pulse {
      50% {
        opacity: 0.3;
      }
    }
    @media (prefers-reduced-motion: reduce) {
      :host([tone='progress']) i {
        animation: none;
      }
    }
  `;

  override render() {
    return html`<span part="badge"><i aria-hidden="true"></i>${this.label}</span>`;
  }
}

customElements.define('tp-badge', TpBadge);

declare global {
  interface HTMLElementTagNameMap {
    'tp-badge': TpBadge;
  }
}
