import { type PropertyValues, html } from 'lit';
import { onTick } from '../clock.js';
import { formatAge } from '../time.js';
import { TimestampElement } from './timestamp-element.js';

/**
 * How long ago a UTC timestamp was (42s, 3m5s, 2h), ticking on the page's one shared timer.
 * The tooltip gives the full date and time in the browser's locale and time zone.
 */
export class TpAge extends TimestampElement {
  static override properties = {
    _text: { state: true },
  };

  declare private _text: string;
  private _stop: (() => void) | undefined;

  constructor() {
    super();
    this._text = '';
  }

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
    const t = this.time;
    // Only a changed text re-renders.
    this._text = t === undefined ? '—' : formatAge(now - t);
  }

  override render() {
    const t = this.time;
    if (t === undefined) return html`<span class="muted">—</span>`;
    return this.renderTime(t, this._text);
  }
}

customElements.define('tp-age', TpAge);

declare global {
  interface HTMLElementTagNameMap {
    'tp-age': TpAge;
  }
}
