// Shared bits of the UI's element tests (happy-dom).
import { LitElement } from 'lit';

/** Waits until an element and every Lit element inside its shadow tree have rendered. */
export async function settle(el: Element): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const pending: Promise<unknown>[] = [];
    const visit = (node: Element) => {
      if (node instanceof LitElement) pending.push(node.updateComplete);
      const root = node.shadowRoot;
      for (const child of root ? [...root.querySelectorAll('*')] : []) visit(child);
      for (const child of [...node.children]) visit(child);
    };
    visit(el);
    const results = await Promise.all(pending);
    // updateComplete resolves false when another update is queued: go round again.
    if (results.every((r) => r === true)) return;
  }
}

/** Mounts an element, sets its properties, waits for it to render. */
export async function mount<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
): Promise<HTMLElementTagNameMap[K]> {
  const el = document.createElement(tag);
  Object.assign(el, props);
  document.body.appendChild(el);
  await settle(el);
  return el;
}

/** querySelector through shadow roots: each selector is looked up in the previous match's shadow root. */
export function $(el: Element, ...selectors: string[]): Element | null {
  let cur: Element | null = el;
  for (const s of selectors) {
    cur = (cur?.shadowRoot ?? cur)?.querySelector(s) ?? null;
    if (!cur) return null;
  }
  return cur;
}

/** querySelectorAll in an element's shadow root. */
export function $$(el: Element, selector: string): Element[] {
  return [...(el.shadowRoot ?? el).querySelectorAll(selector)];
}

/** Visible text with runs of white space collapsed. */
export function text(el: Element | null | undefined): string {
  if (!el) return '';
  const parts: string[] = [];
  const walk = (n: Node) => {
    if (n.nodeType === 3) parts.push(n.textContent ?? '');
    const sr = (n as Element).shadowRoot;
    for (const c of sr ? [...sr.childNodes] : []) walk(c);
    for (const c of [...n.childNodes]) walk(c);
  };
  walk(el);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

const T0 = Date.parse('2025-01-01T00:00:00Z');

/** A minimal Workspace as the API returns it. */
export function workspace(
  name: string,
  over: {
    running?: boolean;
    phase?: string;
    ip?: string;
    ready?: [string, string, string];
    rv?: string;
    created?: string;
  } = {},
) {
  return {
    apiVersion: 'tidepool/v1' as const,
    kind: 'Workspace' as const,
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: over.rv ?? '1',
      creationTimestamp: over.created ?? new Date(T0).toISOString(),
    },
    spec: { image: 'default', running: over.running ?? true, resources: { cpu: 2, memory: '4Gi' } },
    status: {
      phase: (over.phase ?? 'Running') as 'Running',
      ip: over.ip,
      conditions: over.ready
        ? [
            {
              type: 'Ready',
              status: over.ready[0] as 'True',
              reason: over.ready[1],
              message: over.ready[2],
              lastTransitionTime: new Date(T0).toISOString(),
            },
          ]
        : [],
    },
  };
}

export function port(ws: string, n: number) {
  return {
    apiVersion: 'tidepool/v1' as const,
    kind: 'Port' as const,
    metadata: { name: `${ws}-${n}`, resourceVersion: '1' },
    spec: { workspace: ws, port: n },
  };
}

export function event(
  name: string,
  type: 'Normal' | 'Warning',
  last: string,
  reason = 'Started',
  note = 'did a thing',
  count = 1,
) {
  return {
    apiVersion: 'tidepool/v1' as const,
    kind: 'Event' as const,
    metadata: { name, resourceVersion: '1' },
    regarding: { kind: 'Workspace', name: 'alice' },
    reason,
    note,
    type,
    count,
    firstTimestamp: last,
    lastTimestamp: last,
  };
}

/** One store per kind for tp-app, never started: a test feeds them with apply(), as the watch would. */
export async function appStores() {
  const { ResourceStore } = await import('../../web/src/store.js');
  return {
    workspaces: new ResourceStore<ReturnType<typeof workspace>>('workspaces'),
    ports: new ResourceStore<ReturnType<typeof port>>('ports'),
    events: new ResourceStore<ReturnType<typeof event>>('events'),
    syncs: new ResourceStore<never>('syncs'),
  };
}
