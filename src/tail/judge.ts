/**
 * The verdict on a batch of record values: format, validity, ETL decision, table × type, reason. Pure and
 * columnar (typed arrays and a few strings), so it can run in a worker and come back cheaply (check-worker.ts),
 * or inline (judgeBatch called directly): the same function either way.
 */
import { RECORD_FORMATS, type RecordFormat } from '../formats/detect.ts';
import { isUtf8 } from 'node:buffer';
import { checkRecord, checkValidFast, latin1FromUtf8, reasonText, utf8FromLatin1 } from '../formats/validate.ts';
import { APPLOG_WARNING, odsEtl, odsEtlValid, recordKind, type EtlRole } from './etl.ts';
import { typeToken } from './retype.ts';
import type { Headers } from '../bus/types.ts';
import { appendEnvelope, ByteOut, type EnvelopeRecord } from './envelope.ts';
import { MaxwellScanner, SCAN_TYPES, VALID } from './scan-maxwell.ts';

export interface Verdicts {
  /** 1 = not printed: rejected by the ETL (with --etl) — without --etl every record is printed. */
  rejected: Uint8Array;
  /** 1 = the value is invalid (a reason is given); with --etl the same as rejected. */
  invalid: Uint8Array;
  /**
   * 1 = the value is valid UTF-8 JSON text on one line and can be spliced into the envelope as it is;
   * 2 = the same but spread over lines (the envelope joins them); 0 = not JSON.
   */
  json: Uint8Array;
  /** Index into RECORD_FORMATS + 1; 0 = none recognised. */
  format: Uint8Array;
  /** Index into `kinds`, -1 = none (counted per table × type). */
  kind: Int32Array;
  kinds: [table: string, type: string][];
  /** Rejected/invalid records: their index, the summary category and the one-line reason. */
  problemAt: Int32Array;
  problems: [category: string, line: string][];
  /** Kept records whose format's validator found something the ETL does not reject for: index, category, line. */
  warnAt: Int32Array;
  warnings: [category: string, line: string][];
  /**
   * Kept records printed with an edit (--etl: a Maxwell bootstrap-insert becomes insert): triples of the record's
   * index and the [start, end) of the bytes of its value that `"insert"` replaces (retype.ts). In index order.
   */
  retype: Int32Array;
  /** With `envelope`: the jsonl envelopes of the printed records, ready for stdout. */
  out?: Uint8Array;
}

export interface JudgeJob {
  /** --etl database, or null for plain validation. */
  etl: string | null;
  /** Which ETL rule (the topic's role); default auto: by each record's format. */
  role?: EtlRole;
  /** Also write the jsonl envelopes of the printed records (the runner writes them itself: cheaper in all). */
  envelope?: { metaOnly: boolean } | null;
}

export function formatOf(v: Verdicts, i: number): RecordFormat | undefined {
  const f = v.format[i]!;
  return f === 0 ? undefined : RECORD_FORMATS[f - 1];
}

/** Done here, in the worker, rather than by the main thread for every envelope it writes. */
function lineBreaks(b: Uint8Array): boolean {
  return b.indexOf(0x0a) >= 0 || b.indexOf(0x0d) >= 0;
}

const FORMAT_CODE = new Map<string, number>(RECORD_FORMATS.map((f, i) => [f, i + 1]));

/** Judges every record, and writes the envelopes of those printed when the job asks. */
export function judgeRecords(recs: readonly EnvelopeRecord[], job: JudgeJob): Verdicts {
  const v = judgeBatch(
    recs.map((r) => r.value),
    job.etl,
    { role: job.role ?? 'auto' },
  );
  if (job.envelope) v.out = keptEnvelopes(recs, v, job.envelope.metaOnly);
  return v;
}

/** The jsonl envelopes of the records `v` keeps, one line each (a retyped value edited on the way). */
export function keptEnvelopes(recs: readonly EnvelopeRecord[], v: Verdicts, metaOnly: boolean): Buffer {
  let hint = 64;
  for (const r of recs) hint += (r.value?.length ?? 0) + (r.key?.length ?? 0) * 2 + 160;
  const out = new ByteOut(hint);
  const rt = v.retype;
  let r = 0;
  for (let i = 0; i < recs.length; i++) {
    if (v.rejected[i] === 1) continue;
    // JSON values are copied as bytes; appendEnvelope decodes the others itself.
    if (r < rt.length && rt[r] === i) {
      appendEnvelope(out, recs[i]!, { text: null, json: true, breaks: v.json[i] === 2, retype: [rt[r + 1]!, rt[r + 2]!] }, metaOnly);
      r += 3;
    } else appendEnvelope(out, recs[i]!, { text: null, json: v.json[i] !== 0, breaks: v.json[i] === 2 }, metaOnly);
  }
  return out.take();
}

const scanner = new MaxwellScanner();
const MAXWELL = FORMAT_CODE.get('maxwell')!;
/** Kinds of the scanner's types: plain validation counts the type as written, the ETL strips `bootstrap-`. */
const SCAN_KIND_PLAIN: readonly string[] = SCAN_TYPES;
const SCAN_KIND_ETL: readonly string[] = SCAN_TYPES.map((t) => (t === 'bootstrap-insert' ? 'insert' : t));
const SCAN_BOOTSTRAP = SCAN_TYPES.indexOf('bootstrap-insert');

/** One line of reasons: at most 3, and at most 300 characters (the rest counted). */
function reasonLine(category: string, reasons: readonly string[]): string {
  const more = reasons.length > 3 ? ` (+${reasons.length - 3} more)` : '';
  const line = `${category}: ${reasons.slice(0, 3).join('; ')}${more}`;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** UTF-8 validity (SIMD); a view the runtime refuses to check (shared memory) counts as unchecked. */
function utf8(b: Uint8Array): boolean {
  try {
    return isUtf8(b);
  } catch {
    return false;
  }
}

/**
 * Judges every value; `etlDatabase` null = plain validation (everything printed), else the ETL of `role` (etl.ts).
 * `scan: false` leaves out the single-pass scanner (scan-maxwell.ts), so tests can compare it with the general path.
 */
export function judgeBatch(values: readonly (Uint8Array | null)[], etlDatabase: string | null, opts: { scan?: boolean; role?: EtlRole } = {}): Verdicts {
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
    warnAt: new Int32Array(0),
    warnings: [],
    retype: new Int32Array(0),
  };
  const kindIndex = new Map<string, Map<string, number>>();
  let lastTable = '';
  let lastType = '';
  let last = -1;
  const kindOf = (table: string, type: string): number => {
    // Runs of one table × type are the rule (a transaction, a bootstrap): no lookup for them.
    if (last >= 0 && table === lastTable && type === lastType) return last;
    let byType = kindIndex.get(table);
    if (byType === undefined) kindIndex.set(table, (byType = new Map()));
    let k = byType.get(type);
    if (k === undefined) {
      k = v.kinds.length;
      v.kinds.push([table, type]);
      byType.set(type, k);
    }
    lastTable = table;
    lastType = type;
    last = k;
    return k;
  };
  const problemAt: number[] = [];
  const warnAt: number[] = [];
  const retype: number[] = [];
  const role: EtlRole = opts.role ?? 'auto';
  const dbLatin1 = etlDatabase === null ? null : latin1FromUtf8(etlDatabase);
  const dbBytes = etlDatabase === null ? null : new Uint8Array(Buffer.from(etlDatabase, 'utf8'));
  const scanKinds = etlDatabase === null ? SCAN_KIND_PLAIN : SCAN_KIND_ETL;
  // The ods_log rule keeps no Maxwell row: the scanner has nothing to say there.
  const scan = opts.scan !== false && !(etlDatabase !== null && role === 'log');
  for (let i = 0; i < n; i++) {
    const value = values[i];
    // The common record in one pass over its bytes; the scanner answers only when the paths below would agree.
    if (scan && value !== null && value !== undefined && value.length > 0 && utf8(value) && scanner.scan(value, 0, value.length, dbBytes) === VALID) {
      v.json[i] = scanner.breaks ? 2 : 1;
      v.format[i] = MAXWELL;
      v.kind[i] = kindOf(scanner.table(value), scanKinds[scanner.type]!);
      if (etlDatabase !== null && scanner.type === SCAN_BOOTSTRAP) retype.push(i, scanner.typeStart, scanner.typeEnd);
      continue;
    }
    // Fast path: valid (and kept) records, checked on Latin-1 text; everything else again, exactly, below.
    // (Under the ods_log rule only for app logs: the warnings on other kept records must show the real text.)
    const fast = checkValidFast(values[i]);
    if (fast !== undefined && (dbLatin1 === null || role !== 'log' || fast.format === 'applog')) {
      const e = dbLatin1 === null ? null : odsEtlValid(fast, dbLatin1, role);
      const k = e === null ? recordKind(fast) : e.keep ? e : null;
      if (k !== null) {
        v.json[i] = lineBreaks(values[i]!) ? 2 : 1;
        v.format[i] = FORMAT_CODE.get(fast.format)!;
        v.kind[i] = kindOf(utf8FromLatin1(k.table), k.type);
        if (e !== null && e.keep && e.retype) pushRetype(retype, i, values[i]!);
        continue;
      }
    }
    const c = checkRecord(values[i]);
    if (c.ok) {
      v.json[i] = lineBreaks(values[i]!) ? 2 : 1;
      v.format[i] = FORMAT_CODE.get(c.format)!;
    } else {
      v.json[i] = c.json ? (lineBreaks(values[i]!) ? 2 : 1) : 0;
      if (c.format) v.format[i] = FORMAT_CODE.get(c.format)!;
    }
    if (etlDatabase !== null) {
      const e = odsEtl(c, etlDatabase, role);
      if (e.keep) {
        v.kind[i] = kindOf(e.table, e.type);
        // Kept by the ods_log rule: it is an app log now, whatever its keys suggested.
        if (role === 'log') v.format[i] = FORMAT_CODE.get('applog')!;
        if (e.retype) pushRetype(retype, i, values[i]!);
        if (e.warnings !== undefined && e.warnings.length > 0) {
          warnAt.push(i);
          v.warnings.push([APPLOG_WARNING, reasonLine(APPLOG_WARNING, e.warnings)]);
        }
      } else {
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
  v.warnAt = Int32Array.from(warnAt);
  v.retype = Int32Array.from(retype);
  return v;
}

function pushRetype(list: number[], i: number, value: Uint8Array): void {
  const t = typeToken(value);
  if (t !== null) list.push(i, t[0], t[1]);
}

/**
 * Byte strings for a worker. Those that live in shared memory (the Kafka reader's responses) are passed by
 * reference — `shared[where[i]]` at `off[i]`, `len[i]` bytes — the others are copied back to back into `bytes`
 * (`where[i]` = -1); `where[i]` = -2 is null.
 */
export interface PackedBytes {
  bytes: Uint8Array;
  shared: SharedArrayBuffer[];
  where: Int16Array;
  off: Int32Array;
  len: Int32Array;
}

export function packBytes(list: readonly (Uint8Array | null)[]): PackedBytes {
  const n = list.length;
  const where = new Int16Array(n);
  const off = new Int32Array(n);
  const len = new Int32Array(n);
  const shared: SharedArrayBuffer[] = [];
  let copied = 0;
  for (let i = 0; i < n; i++) {
    const x = list[i];
    if (x === null || x === undefined) {
      where[i] = -2;
      continue;
    }
    len[i] = x.length;
    const buf = x.buffer;
    if (buf instanceof SharedArrayBuffer) {
      let k = shared.length - 1;
      // Records come in runs from the same response: look at the last one first.
      if (k < 0 || shared[k] !== buf) {
        k = shared.indexOf(buf);
        if (k < 0 || k > 32_000) {
          k = shared.length;
          shared.push(buf);
        }
      }
      where[i] = k;
      off[i] = x.byteOffset;
    } else {
      where[i] = -1;
      off[i] = copied;
      copied += x.length;
    }
  }
  const bytes = new Uint8Array(copied);
  if (copied > 0) for (let i = 0; i < n; i++) if (where[i] === -1) bytes.set(list[i]!, off[i]!);
  return { bytes, shared, where, off, len };
}

export function unpackBytes(p: PackedBytes): (Buffer | null)[] {
  const copied = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  const shared = p.shared.map((s) => Buffer.from(s));
  const out: (Buffer | null)[] = new Array(p.where.length);
  for (let i = 0; i < p.where.length; i++) {
    const w = p.where[i]!;
    const o = p.off[i]!;
    out[i] = w === -2 ? null : (w === -1 ? copied : shared[w]!).subarray(o, o + p.len[i]!);
  }
  return out;
}

/** A batch for a worker: the values (by reference when in shared memory), the rest of each record when the
 * worker writes envelopes, and the job. */
export interface PackedBatch {
  job: JudgeJob;
  values: PackedBytes;
  meta: {
    topics: string[];
    topic: Uint16Array;
    partition: Int32Array;
    offset: Float64Array;
    /** NaN = no timestamp (a file line). */
    timestamp: Float64Array;
    keys: PackedBytes;
    /** JSON of the headers, '' when there are none. */
    headers: string[];
  } | null;
}

export function packRecords(recs: readonly EnvelopeRecord[], job: JudgeJob): PackedBatch {
  const values = packBytes(recs.map((r) => r.value));
  if (!job.envelope) return { job, values, meta: null };
  const n = recs.length;
  const topics: string[] = [];
  const meta = {
    topics,
    topic: new Uint16Array(n),
    partition: new Int32Array(n),
    offset: new Float64Array(n),
    timestamp: new Float64Array(n),
    keys: packBytes(recs.map((r) => r.key)),
    headers: new Array<string>(n),
  };
  let lastTopic = '';
  let lastIndex = -1;
  for (let i = 0; i < n; i++) {
    const r = recs[i]!;
    if (r.topic !== lastTopic || lastIndex < 0) {
      lastIndex = topics.indexOf(r.topic);
      if (lastIndex < 0) lastIndex = topics.push(r.topic) - 1;
      lastTopic = r.topic;
    }
    meta.topic[i] = lastIndex;
    meta.partition[i] = r.partition;
    meta.offset[i] = r.offset;
    meta.timestamp[i] = r.timestamp ?? NaN;
    let h = '';
    for (const _ in r.headers) {
      h = JSON.stringify(r.headers);
      break;
    }
    meta.headers[i] = h;
  }
  return { job, values, meta };
}

const NO_HEADERS: Headers = Object.freeze({}) as Headers;

/** The records of a batch as the worker sees them (only the values when it writes no envelopes). */
export function unpackRecords(p: PackedBatch): EnvelopeRecord[] {
  const values = unpackBytes(p.values);
  const m = p.meta;
  if (m === null) return values.map((value, offset) => ({ topic: '', partition: 0, offset, timestamp: null, key: null, headers: NO_HEADERS, value }));
  const keys = unpackBytes(m.keys);
  return values.map((value, i) => ({
    topic: m.topics[m.topic[i]!]!,
    partition: m.partition[i]!,
    offset: m.offset[i]!,
    timestamp: Number.isNaN(m.timestamp[i]!) ? null : m.timestamp[i]!,
    key: keys[i]!,
    headers: m.headers[i] === '' ? NO_HEADERS : (JSON.parse(m.headers[i]!) as Headers),
    value,
  }));
}

export function unpackValues(p: PackedBatch): (Buffer | null)[] {
  return unpackBytes(p.values);
}

/** The transferable buffers of a batch (moved to the worker, not copied; shared memory is shared anyway). */
export function batchBuffers(p: PackedBatch): ArrayBuffer[] {
  const bytes = (b: PackedBytes) => [b.bytes.buffer, b.where.buffer, b.off.buffer, b.len.buffer];
  const list = bytes(p.values);
  if (p.meta) list.push(p.meta.topic.buffer, p.meta.partition.buffer, p.meta.offset.buffer, p.meta.timestamp.buffer, ...bytes(p.meta.keys));
  return list as ArrayBuffer[];
}

/** The transferable buffers of verdicts. */
export function verdictBuffers(v: Verdicts): ArrayBuffer[] {
  const list = [v.rejected.buffer, v.invalid.buffer, v.json.buffer, v.format.buffer, v.kind.buffer, v.problemAt.buffer, v.warnAt.buffer, v.retype.buffer];
  if (v.out) list.push(v.out.buffer);
  return list as ArrayBuffer[];
}
