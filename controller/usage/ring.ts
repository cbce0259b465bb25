// A fixed-size ring of (time, cpu, memory) samples: the last hour of one workspace, in three
// typed arrays (no object per sample), overwritten oldest first once full.

export class UsageRing {
  readonly capacity: number;
  readonly #t: Float64Array;
  readonly #cpu: Float64Array;
  readonly #mem: Float64Array;
  /** Where the next sample goes. */
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0))
      throw new Error(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#t = new Float64Array(capacity);
    this.#cpu = new Float64Array(capacity);
    this.#mem = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(t: number, cpu: number, memory: number): void {
    this.#t[this.#next] = t;
    this.#cpu[this.#next] = cpu;
    this.#mem[this.#next] = memory;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** The samples at or after `sinceMs`, oldest first. */
  read(sinceMs = -Infinity): { t: number[]; cpu: number[]; memory: number[] } {
    const out = { t: [] as number[], cpu: [] as number[], memory: [] as number[] };
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let k = 0; k < this.#size; k++) {
      const i = (start + k) % this.capacity;
      if (this.#t[i]! < sinceMs) continue;
      out.t.push(this.#t[i]!);
      out.cpu.push(this.#cpu[i]!);
      out.memory.push(this.#mem[i]!);
    }
    return out;
  }
}
