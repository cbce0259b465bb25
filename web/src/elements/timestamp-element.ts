import { LitElement, css, html, type PropertyDeclarations } from 'lit';
import { formatFull, parseTime } from '../time.js';

/**
 * What tp-age and tp-time share: a `datetime` (RFC 3339, UTC, as the API sends it) shown inline
 * in tabular figures, as a <time> whose tooltip is the full date and time. Not an element itself.
 */
export class TimestampElement extends LitElement {
  // Typed as the general shape, so that tp-age and tp-time declare only their own (Lit adds these).
  static override properties: PropertyDeclarations = {
    datetime: { type: String },
  };

  /** An RFC 3339 timestamp (UTC), as the API sends it. */
  declare datetime: string;

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

  /** The timestamp in milliseconds; undefined when it is missing or unparsable. */
  protected get time(): number | undefined {
    return parseTime(this.datetime);
  }

  /** `<time>` showing `label`, with the full date and time (in the given locale and zone) as its tooltip. */
  protected renderTime(t: number, label: string, opts: { locale?: string; timeZone?: string } = {}) {
    return html`<time datetime=${this.datetime} title=${formatFull(t, opts)}>${label}</time>`;
  }
}
