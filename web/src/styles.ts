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

/** Buttons: plain, `.primary` (the accent colour), `.danger` (outlined) and `.danger.solid`. */
export const buttonStyles = css`
  button {
    font: inherit;
    font-size: 0.875rem;
    font-weight: 600;
    padding: 0.4em 0.9em;
    border-radius: 6px;
    border: 1px solid var(--tp-border-strong, #b6bec8);
    background: var(--tp-surface, #fff);
    color: var(--tp-text, #1b1f24);
    cursor: pointer;
  }
  button:hover:not(:disabled) {
    background: var(--tp-hover, #f0f3f6);
  }
  button.primary {
    border-color: var(--tp-accent, #0b5cc2);
    background: var(--tp-accent, #0b5cc2);
    color: var(--tp-on-accent, #fff);
  }
  button.primary:hover:not(:disabled) {
    background: var(--tp-accent-hover, #094a9c);
  }
  button.danger {
    color: var(--tp-error-fg, #a4161a);
    border-color: currentColor;
  }
  button.danger.solid {
    color: #fff;
    background: var(--tp-danger, #b3261e);
    border-color: var(--tp-danger, #b3261e);
  }
  button.danger.solid:hover:not(:disabled) {
    background: var(--tp-danger-hover, #8c1d18);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.6;
  }
`;

/** Buttons, form fields and dialogs. */
export const controlStyles = css`
  ${buttonStyles}
  input,
  select {
    font: inherit;
    font-size: 0.875rem;
    box-sizing: border-box;
    width: 100%;
    padding: 0.45em 0.6em;
    border: 1px solid var(--tp-border-strong, #b6bec8);
    border-radius: 6px;
    background: var(--tp-surface, #fff);
    color: var(--tp-text, #1b1f24);
  }
  input:focus-visible,
  select:focus-visible {
    outline: 3px solid var(--tp-focus, #0b5cc2);
    outline-offset: 1px;
  }
  input[aria-invalid='true'] {
    border-color: var(--tp-error-fg, #a4161a);
  }
  label {
    display: block;
    font-size: 0.875rem;
    font-weight: 600;
    margin-bottom: 0.25rem;
  }
  .field + .field {
    margin-top: 0.85rem;
  }
  .hint {
    margin: 0.25rem 0 0;
    font-size: 0.8125rem;
    color: var(--tp-muted, #56606b);
  }
  .field-error,
  .form-error {
    margin: 0.3rem 0 0;
    font-size: 0.8125rem;
    color: var(--tp-error-fg, #a4161a);
    overflow-wrap: anywhere;
  }
  .form-error:empty,
  .field-error:empty {
    display: none;
  }
  dialog {
    box-sizing: border-box;
    width: min(30rem, calc(100vw - 1.5rem));
    max-height: calc(100dvh - 2rem);
    padding: 0;
    border: 1px solid var(--tp-border, #d8dde3);
    border-radius: 12px;
    background: var(--tp-surface, #fff);
    color: var(--tp-text, #1b1f24);
    box-shadow: 0 12px 40px rgb(0 0 0 / 0.25);
  }
  dialog::backdrop {
    background: rgb(10 20 35 / 0.45);
  }
  dialog form {
    padding: 1.25rem;
  }
  dialog h2 {
    margin: 0 0 1rem;
    font-size: 1.15rem;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    justify-content: flex-end;
    gap: 0.5rem;
    margin-top: 1.25rem;
  }
  .ide-off {
    white-space: nowrap;
    color: var(--tp-muted, #56606b);
  }
`;
