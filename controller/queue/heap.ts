// A binary min-heap ordered by `at`, for the delaying queue's timers.

export interface HeapEntry<K> {
  key: K;
  at: number;
}

export class TimeHeap<K> {
  readonly #a: HeapEntry<K>[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): HeapEntry<K> | undefined {
    return this.#a[0];
  }

  push(e: HeapEntry<K>): void {
    const a = this.#a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): HeapEntry<K> | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.#a.length = 0;
  }
}
