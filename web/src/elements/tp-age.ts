import { LitElement, css, html, type PropertyValues } from 'lit';
import { onTick } from '../clock.js';
import { formatAge, formatFull, parseTime } from '../time.js';

/**
 * How long ago a UTC timestamp was (42s, 3m5s, 2h), ticking on the page's one shared timer.
 * The tooltip gives the full date and time in the browser's locale and time zone.
 */
export class TpAge extends LitElement {
  static override properties = {
    datetime: { type: String },
    _text: { state: true },
  };

  /** An RFC 3339 timestamp (UTC), as the API sends it. */
  declare datetime: string;
  private declare _text: string;
  private _stop: (() => void) | undefined;

  constructor() {
    super();
    this.datetime = '';
    this._text = '';
  }

  static override styles = css`
    :host {
      display: inline-block;
      font-variant-numeric: tabular-nums;
      white-space: nowrap;
    }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    this._stop = onTick((now) => this._refresh(now));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._stop?.();
    this._stop = undefined;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('datetime')) this._refresh(Date.now());
  }

  private _refresh(now: number): void {
    const t = parseTime(this.datetime);
    // Only a changed text re-renders.
    this._text = t === undefined ? '—' : formatAge(now - t);
  }

  override render() {
    const t = parseTime(this.datetime);
    if (t === undefined) return html`<span class="muted">—</span>`;
    return html`<time datetime=${this.datetime} title=${formatFull(t)}>${this._text}</time>`;
  }
}

customElements.define('tp-age', TpAge);

declare global {
  interface HTMLElementTagNameMap {
    'tp-age': TpAge;
  }
}
