// Where JSON.parse failed: the offset of the first syntax error (V8's messages do not always
// carry one), found by a small recursive-descent scanner that runs only after a failed parse.

class JsonScanner {
  i = 0;
  constructor(private readonly s: string) {}

  fail(): never {
    throw this.i;
  }

  ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  /** `c` at the cursor is consumed; true when it was there. */
  eat(c: string): boolean {
    if (this.s[this.i] !== c) return false;
    this.i++;
    return true;
  }

  str(): void {
    const s = this.s;
    if (!this.eat('"')) this.fail();
    while (this.i < s.length && s[this.i] !== '"') {
      if (s.charCodeAt(this.i) < 0x20) this.fail();
      if (s[this.i] !== '\\') {
        this.i++;
        continue;
      }
      this.i++;
      if (s[this.i] === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(s.slice(this.i + 1, this.i + 5))) this.fail();
        this.i += 5;
      } else if (s[this.i] !== undefined && '"\\/bfnrt'.includes(s[this.i]!)) this.i++;
      else this.fail();
    }
    if (this.i >= s.length) this.fail();
    this.i++;
  }

  /** The members of an object or the items of an array, after its opening bracket. */
  members(close: string, member: () => void): void {
    this.ws();
    if (this.eat(close)) return;
    for (;;) {
      member();
      this.ws();
      if (this.eat(',')) continue;
      if (this.eat(close)) return;
      this.fail();
    }
  }

  value(depth: number): void {
    if (depth > 512) this.fail();
    this.ws();
    if (this.eat('{')) {
      this.members('}', () => {
        this.ws();
        this.str();
        this.ws();
        if (!this.eat(':')) this.fail();
        this.value(depth + 1);
      });
    } else if (this.eat('[')) this.members(']', () => this.value(depth + 1));
    else if (this.s[this.i] === '"') this.str();
    else this.scalar();
  }

  /** true, false, null or a number. */
  scalar(): void {
    for (const lit of ['true', 'false', 'null'])
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return;
      }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m || m[0] === '' || m[0] === '-') this.fail();
    this.i += m[0].length;
  }
}

/** Offset of the first JSON syntax error in `s`, or -1 when there is none. */
export function jsonErrorOffset(s: string): number {
  const scan = new JsonScanner(s);
  try {
    scan.value(0);
    scan.ws();
    return scan.i < s.length ? scan.i : -1;
  } catch (at) {
    return at as number;
  }
}
