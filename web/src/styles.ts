// Styles shared by the elements. Colours are CSS custom properties set on :root in index.html
// (light and dark), so they reach into every shadow root.
import { css } from 'lit';

export const baseStyles = css`
  :host {
    display: block;
    color: var(--tp-text, #1b1f24);
  }
  a {
    color: var(--tp-link, #0b5cc2);
    text-underline-offset: 2px;
  }
  a:hover {
    text-decoration-thickness: 2px;
  }
  a:focus-visible,
  button:focus-visible {
    outline: 3px solid var(--tp-focus, #0b5cc2);
    outline-offset: 2px;
    border-radius: 4px;
  }
  .muted {
    color: var(--tp-muted, #56606b);
  }
  .num {
    font-variant-numeric: tabular-nums;
  }
  .mono {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.875em;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  .empty {
    margin: 0;
    padding: 1rem 0.75rem;
    color: var(--tp-muted, #56606b);
  }
  code {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.875em;
    background: var(--tp-code-bg, #eef1f4);
    padding: 0.1em 0.35em;
    border-radius: 4px;
  }
`;

/** Data tables (a component turns its rows into cards in narrow windows). */
export const tableStyles = css`
  table {
    width: 100%;
    border-collapse: collapse;
  }
  th,
  td {
    text-align: left;
    padding: 0.55rem 0.75rem;
    border-bottom: 1px solid var(--tp-border, #d8dde3);
    vertical-align: top;
  }
  th {
    font-size: 0.75rem;
    font-weight: 600;
    text-transform: uppercase;
    letter-spacing: 0.04em;
    color: var(--tp-muted, #56606b);
    white-space: nowrap;
  }
  tbody tr:last-child td {
    border-bottom: none;
  }
`;
