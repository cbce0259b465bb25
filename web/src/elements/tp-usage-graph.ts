import { LitElement, css, html, svg } from 'lit';
import { baseStyles } from '../styles.js';

const W = 300;
const H = 72;

/**
 * One quantity over time as an area under a line, drawn in SVG by hand (no charting library):
 * its title with the latest value, the limit as a dashed line at the top, and a text summary
 * for screen readers. Scales to its container's width.
 */
export class TpUsageGraph extends LitElement {
  static override properties = {
    heading: { type: String },
    t: { attribute: false },
    values: { attribute: false },
    max: { type: Number },
    format: { attribute: false },
  };

  /** What it shows ("CPU"). */
  declare heading: string;
  /** Sample times (ms), oldest first. */
  declare t: number[];
  declare values: number[];
  /** The top of the scale: the limit (vCPUs, memory limit). */
  declare max: number;
  /** How a value is written ("0.42 cores"). */
  declare format: (v: number) => string;

  constructor() {
    super();
    this.heading = '';
    this.t = [];
    this.values = [];
    this.max = 1;
    this.format = (v) => String(v);
  }

  static override styles = [
    baseStyles,
    css`
      .title {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
        font-size: 0.875rem;
        margin-bottom: 0.25rem;
      }
      svg {
        display: block;
        width: 100%;
        height: 72px;
        background: var(--tp-hover, #f0f3f6);
        border-radius: 4px;
      }
      .area {
        fill: var(--tp-progress-bg, #dde9fb);
      }
      .line {
        fill: none;
        stroke: var(--tp-link, #0b5cc2);
        stroke-width: 1.5;
        vector-effect: non-scaling-stroke;
      }
      .limit {
        stroke: var(--tp-muted, #56606b);
        stroke-dasharray: 4 3;
        vector-effect: non-scaling-stroke;
      }
      .axis {
        display: flex;
        justify-content: space-between;
        font-size: 0.75rem;
      }
    `,
  ];

  /** The span shown: the last hour, or since the first sample when that is newer (a fresh workspace fills the width). */
  private _span(): { start: number; ms: number } {
    const end = this.t.at(-1) ?? 0;
    const start = Math.max(end - 3_600_000, this.t[0] ?? end);
    return { start, ms: Math.max(end - start, 1) };
  }

  /** The points of the line: the span across the width, values up to max across the height. */
  private _points(): [number, number][] {
    const { start, ms } = this._span();
    const top = Math.max(this.max, ...this.values, Number.MIN_VALUE);
    return this.t.map((t, i) => [((t - start) / ms) * W, H - (this.values[i]! / top) * (H - 4)]);
  }

  override render() {
    const pts = this._points();
    const last = this.values.at(-1);
    const peak = this.values.length ? Math.max(...this.values) : undefined;
    const line = pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
    const area = pts.length ? `${pts[0]![0].toFixed(1)},${H} ${line} ${pts.at(-1)![0].toFixed(1)},${H}` : '';
    const summary =
      last === undefined
        ? `${this.heading}: no samples yet`
        : `${this.heading} over the last ${ago(this._span().ms).replace(' ago', '')}: now ${this.format(last)}, peak ${this.format(peak!)}, of ${this.format(this.max)}`;
    return html`<div class="title"><strong>${this.heading}</strong>
        <span class="num">${last === undefined ? '—' : this.format(last)} <span class="muted">of ${this.format(this.max)}</span></span></div>
      <svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label=${summary}>
        ${svg`<line class="limit" x1="0" x2=${W} y1="4" y2="4"></line>`}
        ${pts.length ? svg`<polygon class="area" points=${area}></polygon><polyline class="line" points=${line}></polyline>` : ''}
      </svg>
      <div class="axis muted"><span>${ago(this._span().ms)}</span><span>now</span></div>`;
  }
}

function ago(ms: number): string {
  if (ms >= 3_500_000) return '1 h ago';
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min ago` : `${Math.max(1, Math.round(ms / 1000))} s ago`;
}

customElements.define('tp-usage-graph', TpUsageGraph);

declare global {
  interface HTMLElementTagNameMap {
    'tp-usage-graph': TpUsageGraph;
  }
}
