/**
 * The verdict on a batch of record values: format, validity, ETL decision, table × type, reason. Pure and
 * columnar (typed arrays and a few strings), so it can run in a worker and come back cheaply (check-worker.ts),
 * or inline (judgeBatch called directly): the same function either way.
 */
import { RECORD_FORMATS, type RecordFormat } from '../formats/detect.ts';
import { checkRecord, checkValidFast, latin1FromUtf8, reasonText, utf8FromLatin1 } from '../formats/validate.ts';
import { odsEtl, odsEtlValid, recordKind } from './etl.ts';

export interface Verdicts {
  /** 1 = not printed: rejected by the ETL (with --etl) — without --etl every record is printed. */
  rejected: Uint8Array;
  /** 1 = the value is invalid (a reason is given); with --etl the same as rejected. */
  invalid: Uint8Array;
  /** 1 = the value is valid UTF-8 JSON text and can be spliced into the envelope as it is. */
  json: Uint8Array;
  /** Index into RECORD_FORMATS + 1; 0 = none recognised. */
  format: Uint8Array;
  /** Index into `kinds`, -1 = none (counted per table × type). */
  kind: Int32Array;
  kinds: [table: string, type: string][];
  /** Rejected/invalid records: their index, the summary category and the one-line reason. */
  problemAt: Int32Array;
  problems: [category: string, line: string][];
}

export function formatOf(v: Verdicts, i: number): RecordFormat | undefined {
  const f = v.format[i]!;
  return f === 0 ? undefined : RECORD_FORMATS[f - 1];
}

const FORMAT_CODE = new Map<string, number>(RECORD_FORMATS.map((f, i) => [f, i + 1]));

/** Judges every value; `etlDatabase` null = plain validation (everything printed). */
export function judgeBatch(values: readonly (Uint8Array | null)[], etlDatabase: string | null): Verdicts {
  const n = values.length;
  const v: Verdicts = {
    rejected: new Uint8Array(n),
    invalid: new Uint8Array(n),
    json: new Uint8Array(n),
    format: new Uint8Array(n),
    kind: new Int32Array(n).fill(-1),
    kinds: [],
    problemAt: new Int32Array(0),
    problems: [],
  };
  const kindIndex = new Map<string, number>();
  const kindOf = (table: string, type: string): number => {
    const key = `${table}\u0000${type}`;
    let k = kindIndex.get(key);
    if (k === undefined) {
      k = v.kinds.length;
      v.kinds.push([table, type]);
      kindIndex.set(key, k);
    }
    return k;
  };
  const problemAt: number[] = [];
  const dbLatin1 = etlDatabase === null ? null : latin1FromUtf8(etlDatabase);
  for (let i = 0; i < n; i++) {
    // Fast path: valid (and kept) records, checked on Latin-1 text; everything else again, exactly, below.
    const fast = checkValidFast(values[i]);
    if (fast !== undefined) {
      const e = dbLatin1 === null ? null : odsEtlValid(fast, dbLatin1);
      const k = e === null ? recordKind(fast) : e.keep ? e : null;
      if (k !== null) {
        v.json[i] = 1;
        v.format[i] = FORMAT_CODE.get(fast.format)!;
        v.kind[i] = kindOf(utf8FromLatin1(k.table), k.type);
        continue;
      }
    }
    const c = checkRecord(values[i]);
    if (c.ok) {
      v.json[i] = 1;
      v.format[i] = FORMAT_CODE.get(c.format)!;
    } else {
      v.json[i] = c.json ? 1 : 0;
      if (c.format) v.format[i] = FORMAT_CODE.get(c.format)!;
    }
    if (etlDatabase !== null) {
      const e = odsEtl(c, etlDatabase);
      if (e.keep) v.kind[i] = kindOf(e.table, e.type);
      else {
        v.rejected[i] = 1;
        v.invalid[i] = 1;
        problemAt.push(i);
        v.problems.push([e.reason, `${e.reason}${e.detail ? `: ${e.detail.length > 300 ? `${e.detail.slice(0, 299)}…` : e.detail}` : ''}`]);
      }
    } else if (c.ok) {
      const k = recordKind(c);
      v.kind[i] = kindOf(k.table, k.type);
    } else {
      v.invalid[i] = 1;
      problemAt.push(i);
      const line = reasonText(c);
      v.problems.push([c.problem, line.length > 300 ? `${line.slice(0, 299)}…` : line]);
    }
  }
  v.problemAt = Int32Array.from(problemAt);
  return v;
}

/** Values packed into one buffer for a worker: bytes back to back, `ends[i]` their ends, -1 for a null value. */
export interface PackedValues {
  bytes: Uint8Array;
  ends: Int32Array;
}

export function packValues(values: readonly (Uint8Array | null)[]): PackedValues {
  let total = 0;
  for (const x of values) if (x !== null) total += x.length;
  const bytes = new Uint8Array(total);
  const ends = new Int32Array(values.length);
  let o = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined) {
      ends[i] = -1;
      continue;
    }
    bytes.set(x, o);
    o += x.length;
    ends[i] = o;
  }
  return { bytes, ends };
}

export function unpackValues(p: PackedValues): (Uint8Array | null)[] {
  const out: (Uint8Array | null)[] = new Array(p.ends.length);
  let start = 0;
  for (let i = 0; i < p.ends.length; i++) {
    const end = p.ends[i]!;
    if (end < 0) out[i] = null;
    else {
      out[i] = p.bytes.subarray(start, end);
      start = end;
    }
  }
  return out;
}
