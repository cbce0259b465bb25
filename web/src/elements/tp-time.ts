import { html } from 'lit';
import { formatLocal } from '../time.js';
import { TimestampElement } from './timestamp-element.js';

/** A UTC timestamp shown as a date and time in the browser's locale and time zone. */
export class TpTime extends TimestampElement {
  static override properties = {
    locale: { type: String },
    timeZone: { type: String, attribute: 'time-zone' },
  };

  /** A BCP 47 locale; the browser's when unset. */
  declare locale: string | undefined;
  /** An IANA time zone; the browser's when unset. */
  declare timeZone: string | undefined;

  override render() {
    const t = this.time;
    if (t === undefined) return html`—`;
    const opts = { locale: this.locale, timeZone: this.timeZone };
    return this.renderTime(t, formatLocal(t, opts), opts);
  }
}

customElements.define('tp-time', TpTime);

declare global {
  interface HTMLElementTagNameMap {
    'tp-time': TpTime;
  }
}
