/** `json` (one document: an array of row objects) and `jsonl` (one row object per line). */
import { jsonText, uniqueNames } from './cells.ts';
import type { RenderableResult } from './result.ts';

function rowObjects(result: RenderableResult): string[] {
  const keys = uniqueNames(result.columns).map((k) => JSON.stringify(k));
  return result.rows.map((row) => `{${keys.map((k, i) => `${k}:${jsonText(row[i])}`).join(',')}}`);
}

/**
 * One JSON document, an array of objects keyed by column name, one row per line.
 * BIGINT/HUGEINT/DECIMAL are bare JSON numbers with every digit kept (JSON.stringify could not do that).
 */
export function renderJson(result: RenderableResult): string {
  const objects = rowObjects(result);
  return objects.length === 0 ? '[]\n' : `[\n${objects.join(',\n')}\n]\n`;
}

/** One JSON object per line, newline-terminated: what `jq -c`, `duckdb read_json` and log shippers expect. */
export function renderJsonl(result: RenderableResult): string {
  return rowObjects(result)
    .map((o) => `${o}\n`)
    .join('');
}
