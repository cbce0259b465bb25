// What the create and delete dialogs share: showing their <dialog> modally, where focus goes on
// opening, and giving focus back to the button that opened it when it closes (Cancel, Escape,
// or close()). It needs no lifecycle hook, so it is a plain helper that the element holds, not a
// reactive controller: the element keeps its own reactive state and calls these on open and close.

/** The element whose shadow root renders the <dialog> (a LitElement). */
interface Host {
  readonly renderRoot: HTMLElement | DocumentFragment;
}

export class ModalDialog {
  #opener: HTMLElement | undefined;

  constructor(private readonly host: Host) {}

  get #dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector('dialog');
  }

  /** Remembers what opened the dialog: focus goes back there when it closes. */
  remember(opener: HTMLElement | undefined): void {
    this.#opener = opener;
  }

  /** Shows the dialog modally (or as an open one where showModal is missing) and focuses `focus` in it. */
  show(focus: string): void {
    const dialog = this.#dialog;
    if (!dialog) return;
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    (this.host.renderRoot.querySelector(focus) as HTMLElement | null)?.focus();
  }

  close(): void {
    const dialog = this.#dialog;
    if (typeof dialog?.close === 'function') dialog.close();
    else dialog?.removeAttribute('open');
    this.#opener?.focus();
  }

  /** Closes after the dialog did its job: focus is left to whoever handles the result (the opener may be gone). */
  done(): void {
    this.#opener = undefined;
    this.close();
  }

  /** For the dialog's `close` event (Escape closes it without close()): focus goes back to the opener. */
  readonly onClose = (): void => {
    this.#opener?.focus();
  };
}
