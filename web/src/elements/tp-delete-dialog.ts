import { LitElement, css, html, nothing } from 'lit';
import { describeOwner, type SyncOwner } from '../status.js';
import { ActionState } from '../action.js';
import { ModalDialog } from '../modal.js';
import { baseStyles, controlStyles } from '../styles.js';

/** Deletes a workspace; the page wires it to DELETE /api/v1/workspaces/{name}. */
export type DeleteWorkspace = (name: string) => Promise<unknown>;

/**
 * The confirmation before a workspace is deleted: says that its disk and home go for good, and
 * for a workspace a sync folder declares, which folder and file, and that the sync makes it
 * again (with an empty home) unless the file goes. The name must be typed to confirm.
 * Dispatches `deleted` (detail: the name) once the API accepted the delete.
 */
export class TpDeleteDialog extends LitElement {
  static override properties = {
    deleteWorkspace: { attribute: false },
    _name: { state: true },
    _owner: { state: true },
    _typed: { state: true },
  };

  declare deleteWorkspace: DeleteWorkspace | undefined;
  declare private _name: string;
  declare private _owner: SyncOwner | undefined;
  declare private _typed: string;
  private readonly _modal = new ModalDialog(this);
  /** The delete call: in flight, and why it failed. */
  private readonly _delete = new ActionState(this);

  constructor() {
    super();
    this._name = '';
    this._typed = '';
  }

  static override styles = [
    baseStyles,
    controlStyles,
    css`
      p {
        margin: 0 0 0.75rem;
      }
      .sync {
        padding: 0.6rem 0.75rem;
        border-left: 3px solid var(--tp-warn-dot, #d98c00);
        background: var(--tp-warn-bg, #fdefc8);
        color: var(--tp-warn-fg, #7a4a00);
        border-radius: 0 6px 6px 0;
        overflow-wrap: anywhere;
      }
    `,
  ];

  /** Opens the confirmation for a workspace; focus returns to `opener` when it closes. */
  async open(name: string, owner: SyncOwner | undefined, opener?: HTMLElement): Promise<void> {
    this._name = name;
    this._owner = owner;
    this._typed = '';
    this._delete.error = '';
    this._modal.remember(opener);
    await this.updateComplete;
    this._modal.show('#confirm');
  }

  close(): void {
    this._modal.close();
  }

  private async _submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const deleteWorkspace = this.deleteWorkspace;
    if (this._delete.busy || !deleteWorkspace || this._typed !== this._name) return;
    await this._delete.run(async () => {
      await deleteWorkspace(this._name);
      this.dispatchEvent(new CustomEvent('deleted', { detail: this._name, bubbles: true, composed: true }));
      this._modal.done();
    });
  }

  override render() {
    const name = this._name;
    const o = this._owner;
    return html`<dialog aria-labelledby="delete-title" aria-describedby="delete-what" @close=${this._modal.onClose}>
      <form novalidate @submit=${this._submit}>
        <h2 id="delete-title">Delete ${name}?</h2>
        <p id="delete-what">Its disk and its home directory are deleted for good, with every file in them. This cannot be undone.</p>
        ${
          o
            ? html`<p class="sync" id="delete-sync">
              It is declared in ${describeOwner(o)}. The sync will create it again, with an empty home, unless
              ${o.file ? html`that file no longer declares it` : html`the folder no longer declares it`}.
            </p>`
            : nothing
        }
        <div class="field">
          <label for="confirm">Type <strong class="mono">${name}</strong> to confirm</label>
          <input id="confirm" name="confirm" autocomplete="off" spellcheck="false" autocapitalize="none"
            .value=${this._typed} @input=${(e: InputEvent) => (this._typed = (e.target as HTMLInputElement).value)}
            aria-describedby="delete-error" />
        </div>
        <p class="form-error" id="delete-error" role="alert">${this._delete.error}</p>
        <div class="actions">
          <button type="button" @click=${() => this.close()}>Cancel</button>
          <button type="submit" class="danger solid" ?disabled=${this._delete.busy || this._typed !== name}>
            ${this._delete.busy ? 'Deleting…' : 'Delete for good'}
          </button>
        </div>
      </form>
    </dialog>`;
  }
}

customElements.define('tp-delete-dialog', TpDeleteDialog);

declare global {
  interface HTMLElementTagNameMap {
    'tp-delete-dialog': TpDeleteDialog;
  }
}
