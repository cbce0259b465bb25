import { LitElement, css, html, nothing } from 'lit';
import { ApiError, type NewWorkspace, type StatusCause, type Workspace } from '../api.js';
import { ActionState } from '../action.js';
import { ModalDialog } from '../modal.js';
import { baseStyles, controlStyles } from '../styles.js';

/** Creates a workspace; the page wires it to POST /api/v1/workspaces. */
export type CreateWorkspace = (w: NewWorkspace) => Promise<Workspace>;

type Field = 'name' | 'image' | 'cpu' | 'memory' | 'source' | 'idleTimeout';

/** What ties a field's control to its hint and error. */
interface FieldAttrs {
  invalid: 'true' | 'false';
  /** The ids of the hint (when there is one) and the error. */
  describedBy: string;
}

/** The form field a Status cause is about (by its field path), or undefined for the form as a whole. */
export function fieldOfCause(path: string | undefined): Field | undefined {
  if (!path) return undefined;
  if (path === 'metadata.name' || path === 'metadata') return 'name';
  if (path.startsWith('spec.image')) return 'image';
  if (path.startsWith('spec.resources.cpu')) return 'cpu';
  if (path.startsWith('spec.resources.memory')) return 'memory';
  if (path.startsWith('spec.idleTimeout')) return 'idleTimeout';
  if (path.startsWith('spec.source')) return 'source';
  return undefined;
}

/** Each field's messages from a failed create, and what is about no field. */
export function causesByField(err: unknown): { fields: Partial<Record<Field, string>>; form: string } {
  const fields: Partial<Record<Field, string>> = {};
  const rest: string[] = [];
  const causes: readonly StatusCause[] = err instanceof ApiError ? err.causes : [];
  for (const c of causes) {
    const f = fieldOfCause(c.field);
    if (f) fields[f] = fields[f] ? `${fields[f]} ${c.message}` : c.message;
    else rest.push(c.field ? `${c.field}: ${c.message}` : c.message);
  }
  // No cause named a field: the message itself is what the person needs.
  if (Object.keys(fields).length === 0 && rest.length === 0)
    rest.push(err instanceof Error ? err.message : String(err));
  return { fields, form: rest.join(' ') };
}

/**
 * "New workspace": a modal form (name, image template, CPU, memory, an optional workspace whose
 * home to copy). The API validates; its Status causes are shown next to the field they name.
 * On success it dispatches `created` (detail: the Workspace) and closes.
 */
export class TpCreateDialog extends LitElement {
  static override properties = {
    templates: { attribute: false },
    workspaces: { attribute: false },
    create: { attribute: false },
    _errors: { state: true },
  };

  /** The image template names the server knows. */
  declare templates: string[];
  /** Names of the workspaces whose home a new one may start from. */
  declare workspaces: string[];
  declare create: CreateWorkspace | undefined;
  declare private _errors: Partial<Record<Field, string>>;
  private readonly _modal = new ModalDialog(this);
  /** The create call: in flight; its error is what no field's message holds. */
  private readonly _create = new ActionState(this);

  constructor() {
    super();
    this.templates = [];
    this.workspaces = [];
    this._errors = {};
  }

  static override styles = [
    baseStyles,
    controlStyles,
    css`
      .row {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: 0.75rem;
        margin-top: 0.85rem;
      }
      .row .field + .field {
        margin-top: 0;
      }
      .field.source {
        margin-top: 0.85rem;
      }
    `,
  ];

  /** Opens the form empty; focus goes to Name, and back to `opener` when it closes. */
  open(opener?: HTMLElement): void {
    this._modal.remember(opener);
    this._errors = {};
    this._create.error = '';
    this.renderRoot.querySelector('form')?.reset();
    this._modal.show('#name');
  }

  close(): void {
    this._modal.close();
  }

  private async _submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const create = this.create;
    if (this._create.busy || !create) return;
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const w: NewWorkspace = {
      name: String(data.get('name') ?? '').trim(),
      image: String(data.get('image') ?? 'default'),
      cpu: Number(data.get('cpu')),
      memory: String(data.get('memory') ?? '').trim(),
      ...(data.get('source') ? { fromWorkspace: String(data.get('source')) } : {}),
      ...(String(data.get('idleTimeout') ?? '').trim() ? { idleTimeout: String(data.get('idleTimeout')).trim() } : {}),
    };
    this._errors = {};
    await this._create.run(async () => {
      // A failure is caught here, not by run(): its causes go next to their fields, and focus goes
      // to the first of them once they show (while the call still counts as in flight).
      try {
        const created = await create(w);
        this.dispatchEvent(new CustomEvent('created', { detail: created, bubbles: true, composed: true }));
        this._modal.done();
      } catch (err) {
        const { fields, form: rest } = causesByField(err);
        this._errors = fields;
        this._create.error = rest;
        await this.updateComplete;
        const first = (['name', 'image', 'cpu', 'memory', 'idleTimeout', 'source'] as const).find((f) => fields[f]);
        (this.renderRoot.querySelector(`#${first ?? 'name'}`) as HTMLElement | null)?.focus();
      }
    });
  }

  /**
   * One form field: its label, control, hint and error, wired together once here. `control` gets
   * the attributes that tie it to them (id and name are the field's id).
   */
  private _field(
    id: Field,
    label: string,
    control: (a: FieldAttrs) => unknown,
    opts: { hint?: string; class?: string } = {},
  ) {
    const error = this._errors[id];
    const attrs: FieldAttrs = {
      invalid: error ? 'true' : 'false',
      describedBy: `${opts.hint ? `${id}-hint ` : ''}${id}-error`,
    };
    return html`<div class=${opts.class ? `field ${opts.class}` : 'field'}>
      <label for=${id}>${label}</label>
      ${control(attrs)}
      ${opts.hint ? html`<p class="hint" id=${`${id}-hint`}>${opts.hint}</p>` : nothing}
      <p class="field-error" id=${`${id}-error`}>${error ?? ''}</p>
    </div>`;
  }

  override render() {
    const templates = this.templates.length ? this.templates : ['default'];
    const image = templates.includes('default') ? 'default' : templates[0];
    // Each control with what only it has; _field adds its label, hint and error, and the wiring.
    const name = (a: FieldAttrs) => html`<input id="name" name="name" autocomplete="off" spellcheck="false"
      autocapitalize="none" aria-invalid=${a.invalid} aria-describedby=${a.describedBy} />`;
    const imageSelect = (a: FieldAttrs) => html`<select id="image" name="image"
      aria-invalid=${a.invalid} aria-describedby=${a.describedBy}>
      ${templates.map((t) => html`<option value=${t} ?selected=${t === image}>${t}</option>`)}
    </select>`;
    const cpu = (a: FieldAttrs) => html`<input id="cpu" name="cpu" type="number" inputmode="numeric"
      value="2" min="1" max="64" step="1" aria-invalid=${a.invalid} aria-describedby=${a.describedBy} />`;
    const memory = (a: FieldAttrs) => html`<input id="memory" name="memory" value="4Gi" autocomplete="off"
      spellcheck="false" aria-invalid=${a.invalid} aria-describedby=${a.describedBy} />`;
    const source = (a: FieldAttrs) => html`<select id="source" name="source"
      aria-invalid=${a.invalid} aria-describedby=${a.describedBy}>
      <option value="">Nothing: an empty home</option>
      ${[...this.workspaces].sort().map((n) => html`<option value=${n}>${n}’s home</option>`)}
    </select>`;
    const idle = (
      a: FieldAttrs,
    ) => html`<input id="idleTimeout" name="idleTimeout" placeholder="never" autocomplete="off"
      spellcheck="false" aria-invalid=${a.invalid} aria-describedby=${a.describedBy} />`;
    const nameHint = 'Lowercase letters, digits and “-”; it is also the IDE’s address.';
    return html`<dialog aria-labelledby="create-title" @close=${this._modal.onClose}>
      <form novalidate @submit=${this._submit}>
        <h2 id="create-title">New workspace</h2>
        <p class="form-error" role="alert">${this._create.error}</p>
        ${this._field('name', 'Name', name, { hint: nameHint })}
        ${this._field('image', 'Image', imageSelect)}
        <div class="row">
          ${this._field('cpu', 'CPU', cpu, { hint: 'vCPUs, 1–64' })}
          ${this._field('memory', 'Memory', memory, { hint: 'e.g. 512Mi or 4Gi' })}
        </div>
        ${this._field('idleTimeout', 'Sleep when idle for', idle, { hint: 'e.g. 30m or 2h; empty: the server’s default. It wakes when opened.' })}
        ${this._field('source', 'Start from a copy of', source, { class: 'source' })}
        <div class="actions">
          <button type="button" @click=${() => this.close()}>Cancel</button>
          <button type="submit" class="primary" ?disabled=${this._create.busy}>${this._create.busy ? 'Creating…' : 'Create'}</button>
        </div>
      </form>
    </dialog>`;
  }
}

customElements.define('tp-create-dialog', TpCreateDialog);

declare global {
  interface HTMLElementTagNameMap {
    'tp-create-dialog': TpCreateDialog;
  }
}
