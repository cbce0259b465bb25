// The layout of the workspace page: a head card, details and ports beside conditions and events, then the YAML.
import { css } from 'lit';

export const pageStyles = css`
  .back {
    display: inline-block;
    margin: 0 0 0.75rem 0.25rem;
    font-size: 0.9375rem;
  }
  .head {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.6rem 1rem;
    padding: 1rem 1.25rem;
  }
  h2 {
    margin: 0;
    font-size: 1.5rem;
    overflow-wrap: anywhere;
  }
  .head .controls {
    display: flex;
    flex-wrap: wrap;
    align-items: flex-start;
    gap: 0.5rem 0.75rem;
    margin-left: auto;
  }
  .head a.ide {
    display: inline-block;
    font-weight: 600;
    font-size: 0.875rem;
    padding: 0.4em 0.9em;
    border-radius: 6px;
    border: 1px solid var(--tp-ok-dot, #1f9d47);
    background: var(--tp-ok-bg, #dcf5e3);
    color: var(--tp-ok-fg, #116329);
    text-decoration: none;
  }
  .head a.ide:hover {
    text-decoration: underline;
  }
  .head .ide-off {
    align-self: center;
  }
  .summary {
    margin: 0;
    padding: 0 1.25rem 1rem;
  }
  .grid {
    display: grid;
    gap: 1.25rem;
    grid-template-columns: minmax(0, 1fr);
    margin-top: 1.25rem;
  }
  @media (min-width: 1000px) {
    .grid {
      grid-template-columns: minmax(0, 2fr) minmax(0, 3fr);
      align-items: start;
    }
  }
  h3 {
    margin: 0 0 0.5rem;
    padding: 0 0.25rem;
    font-size: 1.05rem;
  }
  section.yaml {
    margin-top: 1.25rem;
  }
  section + section {
    margin-top: 1.25rem;
  }
  .card {
    background: var(--tp-surface, #fff);
    border: 1px solid var(--tp-border, #d8dde3);
    border-radius: 10px;
    box-shadow: 0 1px 2px rgb(0 0 0 / 0.04);
  }
  dl {
    display: grid;
    grid-template-columns: max-content minmax(0, 1fr);
    gap: 0.5rem 1rem;
    margin: 0;
    padding: 0.9rem 1rem;
  }
  dt {
    font-size: 0.8125rem;
    font-weight: 600;
    color: var(--tp-muted, #56606b);
  }
  dd {
    margin: 0;
    overflow-wrap: anywhere;
  }
  td.message {
    overflow-wrap: anywhere;
  }
  .cond-table {
    overflow-x: auto;
  }
  .yaml-bar {
    display: flex;
    justify-content: space-between;
    align-items: center;
    gap: 0.5rem;
    padding: 0.5rem 0.75rem;
    border-bottom: 1px solid var(--tp-border, #d8dde3);
  }
  pre {
    margin: 0;
    padding: 0.75rem 1rem;
    max-height: 28rem;
    overflow: auto;
    font-size: 0.8125rem;
    line-height: 1.5;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  pre:focus-visible {
    outline: 3px solid var(--tp-focus, #0b5cc2);
    outline-offset: -3px;
  }
  @media (max-width: 520px) {
    .head .controls {
      margin-left: 0;
      width: 100%;
    }
    table.conditions thead {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
    }
    table.conditions,
    table.conditions tbody,
    table.conditions tr,
    table.conditions td {
      display: block;
    }
    table.conditions tr {
      padding: 0.5rem 0;
      border-bottom: 1px solid var(--tp-border, #d8dde3);
    }
    table.conditions td {
      border: none;
      padding: 0.1rem 0.75rem;
    }
  }
  .ns {
    font-size: 0.875rem;
    color: var(--tp-muted, #56606b);
  }
`;
