/**
 * The rows of the transaction being read. Maxwell puts the transaction's xid on every row and `commit:true` on the
 * last one, and both are known only at the commit event, so rows wait here until then (Maxwell's RowMapBuffer).
 *
 * Memory is bounded: past `memoryBytes` the rest of a big transaction goes to a temp file, read back at the commit.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingText, type PendingRecord, type PendingText } from './encode';

export class TxnBuffer {
  private rows: PendingRecord[] = [];
  private bytes = 0;
  private spill: { dir: string; path: string; fd: number; count: number } | undefined;

  constructor(private readonly memoryBytes: number) {}

  get count(): number {
    return this.rows.length + (this.spill?.count ?? 0);
  }

  get spilled(): boolean {
    return this.spill !== undefined;
  }

  add(p: PendingRecord): void {
    if (this.spill === undefined && this.bytes + p.bytes <= this.memoryBytes) {
      this.rows.push(p);
      this.bytes += p.bytes;
      return;
    }
    if (this.spill === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'rtwh-cdc-txn-'));
      const path = join(dir, 'rows.jsonl');
      this.spill = { dir, path, fd: openSync(path, 'w+'), count: 0 };
    }
    // Bytes (Maxwell rows) are UTF-8 text: spilled as strings, read back as strings.
    const t = pendingText(p);
    writeSync(this.spill.fd, `${JSON.stringify([t.key, t.partition, t.head, t.tail, t.bytes])}\n`);
    this.spill.count++;
  }

  /** The rows in order (memory first, then the spill file), then the buffer is empty again. */
  *drain(): Generator<PendingRecord> {
    try {
      const rows = this.rows;
      this.rows = [];
      this.bytes = 0;
      yield* rows;
      const s = this.spill;
      if (s) yield* readSpill(s.fd);
    } finally {
      this.clear();
    }
  }

  /** Forgets the transaction (rollback, or a connection that broke mid-transaction). */
  clear(): void {
    this.rows = [];
    this.bytes = 0;
    const s = this.spill;
    this.spill = undefined;
    if (s) {
      try {
        closeSync(s.fd);
      } catch {
        // already closed
      }
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
}

function* readSpill(fd: number): Generator<PendingText> {
  const chunk = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  // Split on newline bytes before decoding: a chunk boundary may fall inside a multi-byte character.
  let carry: Buffer = Buffer.alloc(0);
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) break;
    pos += n;
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const line = buf.toString('utf8', start, nl);
      start = nl + 1;
      const [key, partition, head, tail, bytes] = JSON.parse(line) as [string | null, number, string, string, number];
      yield { key, partition, head, tail, bytes };
    }
    carry = Buffer.from(buf.subarray(start));
  }
}
