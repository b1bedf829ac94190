/**
 * The record envelope `rtwh tail` prints, a stable contract (like rpk's JSON):
 *
 *   {"topic":"ods_db","partition":0,"offset":17,"timestamp":1736821234000,"key":"…","headers":{},"value":{…}}
 *
 * `value` is the record's JSON when it is JSON, else a string (invalid UTF-8 shown with U+FFFD), null for a
 * tombstone. The JSON is spliced in as its original text, never parsed into doubles and printed again, so big
 * integers and decimals come out with every digit. `--meta-only` leaves `value` out. For records read from a file
 * (--input), topic is the file name, partition 0, offset the line number from 0, timestamp null.
 */
import type { Headers } from '../bus/types.ts';

export interface EnvelopeRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | null;
  key: Buffer | null;
  headers: Headers;
  value: Buffer | null;
}

/** What the value is, as found by the checker: JSON text, other text, or no value. */
export interface ValueView {
  /** The value as text (UTF-8 decoded; replacement characters when it was not UTF-8). */
  text: string | null;
  /** `text` is valid JSON and can be spliced in as is. */
  json: boolean;
}

const topicHeads = new Map<string, string>();

function head(topic: string): string {
  let h = topicHeads.get(topic);
  if (h === undefined) {
    h = `{"topic":${JSON.stringify(topic)},"partition":`;
    if (topicHeads.size < 1000) topicHeads.set(topic, h);
  }
  return h;
}

function keyJson(key: Buffer | null): string {
  return key === null ? 'null' : JSON.stringify(key.toString('utf8'));
}

function headersJson(h: Headers): string {
  for (const _ in h) return JSON.stringify(h);
  return '{}';
}

const NEWLINE = /[\r\n]/g;

/** The value as JSON text on one line: raw text when JSON (line breaks between tokens become spaces), else a string. */
export function valueJson(v: ValueView): string {
  if (v.text === null) return 'null';
  if (!v.json) return JSON.stringify(v.text);
  // A raw line break can only sit between tokens in valid JSON (strings escape theirs), so a space is equivalent.
  return v.text.indexOf('\n') < 0 && v.text.indexOf('\r') < 0 ? v.text.trim() : v.text.replace(NEWLINE, ' ').trim();
}

/** One envelope as one line of JSON (no newline). */
export function envelopeLine(r: EnvelopeRecord, v: ValueView, metaOnly: boolean): string {
  const meta = `${head(r.topic)}${r.partition},"offset":${r.offset},"timestamp":${r.timestamp ?? 'null'},"key":${keyJson(r.key)},"headers":${headersJson(r.headers)}`;
  return metaOnly ? `${meta}}` : `${meta},"value":${valueJson(v)}}`;
}

/** One envelope pretty-printed (2-space indent); the value is re-indented with every number kept as written. */
export function envelopePretty(r: EnvelopeRecord, v: ValueView, metaOnly: boolean): string {
  const env: Record<string, unknown> = {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('utf8'),
    headers: r.headers,
  };
  if (metaOnly) return JSON.stringify(env, null, 2);
  const marker = '\u0000value\u0000';
  env.value = marker;
  const text = JSON.stringify(env, null, 2);
  let value: string;
  if (v.text !== null && v.json) {
    try {
      value = JSON.stringify(rawNumbers(v.text), null, 2).replace(/\n/g, '\n  ');
    } catch {
      // Nesting too deep to re-indent: the one-line form is still exact.
      value = valueJson(v);
    }
  } else value = valueJson(v);
  return text.replace(JSON.stringify(marker), () => value);
}

/** Parsed JSON whose numbers print back as their original text (JSON.rawJSON). */
function rawNumbers(text: string): unknown {
  const raw = (JSON as unknown as { rawJSON?: (s: string) => unknown }).rawJSON;
  if (!raw) throw new Error('JSON.rawJSON is not available');
  return JSON.parse(text, function keep(_k: string, v: unknown, ctx?: { source?: string }): unknown {
    return typeof v === 'number' && ctx?.source !== undefined ? raw(ctx.source) : v;
  } as (this: unknown, key: string, value: unknown) => unknown);
}
