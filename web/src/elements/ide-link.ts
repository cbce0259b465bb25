import { html } from 'lit';
import { ideUrl, type UiConfig, type Workspace } from '../api.js';
import { ideState } from '../status.js';

/** The IDE link of a workspace while it is Ready; otherwise a plain "IDE: stopped" (starting, failed…) that says why not. */
export function ideLink(config: UiConfig, ws: Workspace, label = 'IDE') {
  const name = ws.metadata.name;
  const state = ideState(ws);
  if (state.open) {
    return html`<a class="ide" href=${ideUrl(config, name, ws.metadata.namespace)} target="_blank" rel="noopener noreferrer"
      >${label}<span aria-hidden="true"> ↗</span><span class="visually-hidden"> of ${name} (new tab)</span></a
    >`;
  }
  return html`<span class="ide-off" data-why=${state.why}>IDE: ${state.why}</span>`;
}
