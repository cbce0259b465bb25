import { LitElement, css, html } from 'lit';
import { formatFull, formatLocal, parseTime } from '../time.js';

/** A UTC timestamp shown as a date and time in the browser's locale and time zone. */
export class TpTime extends LitElement {
  static override properties = {
    datetime: { type: String },
    locale: { type: String },
    timeZone: { type: String, attribute: 'time-zone' },
  };

  /** An RFC 3339 timestamp (UTC), as the API sends it. */
  declare datetime: string;
  /** A BCP 47 locale; the browser's when unset. */
  declare locale: string | undefined;
  /** An IANA time zone; the browser's when unset. */
  declare timeZone: string | undefined;

  constructor() {
    super();
    this.datetime = '';
  }

  static override styles = css`
    :host {
      display: inline-block;
      font-variant-numeric: tabular-nums;
      white-space: nowrap;
    }
  `;

  override render() {
    const t = parseTime(this.datetime);
    if (t === undefined) return html`—`;
    const opts = { locale: this.locale, timeZone: this.timeZone };
    return html`<time datetime=${this.datetime} title=${formatFull(t, opts)}>${formatLocal(t, opts)}</time>`;
  }
}

customElements.define('tp-time', TpTime);

declare global {
  interface HTMLElementTagNameMap {
    'tp-time': TpTime;
  }
}
