import { LitElement, css, html } from 'lit';
import { baseStyles } from '../styles.js';

/** A small horizontal bar: `value` of `max`, with its words for screen readers and on hover. */
export class TpUsageBar extends LitElement {
  static override properties = {
    label: { type: String },
    value: { type: Number },
    max: { type: Number },
    text: { type: String },
  };

  /** What it measures ("CPU"). */
  declare label: string;
  declare value: number;
  declare max: number;
  /** The figures in words ("0.4 of 2 cores"). */
  declare text: string;

  constructor() {
    super();
    this.label = '';
    this.value = 0;
    this.max = 1;
    this.text = '';
  }

  static override styles = [
    baseStyles,
    css`
      :host {
        display: flex;
        align-items: center;
        gap: 0.4rem;
        font-size: 0.75rem;
      }
      .track {
        flex: 1;
        min-width: 3rem;
        height: 6px;
        border-radius: 3px;
        background: var(--tp-neutral-bg, #eceff2);
        overflow: hidden;
      }
      .fill {
        display: block;
        height: 100%;
        background: var(--tp-link, #0b5cc2);
      }
      .fill.high {
        background: var(--tp-warn-dot, #d98c00);
      }
      .label {
        width: 2.2rem;
      }
    `,
  ];

  override render() {
    const share = this.max > 0 ? Math.min(1, Math.max(0, this.value / this.max)) : 0;
    const pct = Math.round(share * 100);
    return html`<span class="label muted">${this.label}</span>
      <span class="track" role="meter" aria-label=${this.label} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${pct}
        aria-valuetext=${this.text} title=${this.text}><span class="fill ${share > 0.9 ? 'high' : ''}" style="width:${pct}%"></span></span>
      <span class="num muted">${pct}%</span>`;
  }
}

customElements.define('tp-usage-bar', TpUsageBar);

declare global {
  interface HTMLElementTagNameMap {
    'tp-usage-bar': TpUsageBar;
  }
}
