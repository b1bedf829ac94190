/** The malformed-record corpus: the stored files (this directory) with their expected problem, and the generated ones. */
export const CORPUS_DIR = import.meta.dir;

/** file → [problem, a piece of the reason]. Every file of the directory must be listed. */
export const CORPUS: Record<string, [string, string]> = {
  'truncated.json': ['invalid JSON', ''],
  'wrong-types.json': ['invalid maxwell', 'ts: expected epoch seconds (a whole number), got string "1736821234"'],
  'missing-fields.json': ['invalid maxwell', 'database: expected a non-empty string, got nothing'],
  'ts-in-ms.json': ['invalid maxwell', 'ts: looks like ms (13 digits'],
  'invalid-utf8.bin': ['invalid UTF-8', 'byte 92 of 97 is not valid UTF-8'],
  'empty.bin': ['empty value', ''],
  'array.json': ['unknown format', 'an array'],
  'unknown-object.json': ['unknown format', 'an object with keys hello'],
  'text.txt': ['invalid JSON', ''],
  'debezium-bad-op.json': ['invalid debezium', 'op: expected one of c, u, d, r, t, m'],
  'canal-number-value.json': ['invalid canal', 'data[0].id: expected a string or null'],
  'applog-bad.json': ['invalid applog', 'ts: expected epoch milliseconds (13 digits)'],
  'two-lines.json': ['invalid maxwell', 'type: expected one of'],
  'bom.json': ['invalid JSON', ''],
  'trailing-garbage.json': ['invalid JSON', ''],
};

/** Made here rather than stored: 5 MB, and 100k levels of nesting. */
export function generatedCorpus(): Record<string, [Buffer, string, string]> {
  const huge = `{"database":"gmall","table":"order_info","type":"insert","ts":1736821234,"data":{"id":1,"blob":"${'x'.repeat(5 * 1024 * 1024)}`;
  return {
    'huge truncated (5 MB)': [Buffer.from(huge), 'invalid JSON', ''],
    'huge wrong type (5 MB)': [Buffer.from(`${huge}"},"xid":"no"}`), 'invalid maxwell', 'xid: expected a whole number >= 0'],
    'deep arrays (100k levels)': [Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 'unknown format', ''],
    'deep objects (100k levels)': [Buffer.from(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`), 'unknown format', ''],
    'deep unbalanced (100k levels)': [Buffer.from('['.repeat(100_000)), 'invalid JSON', ''],
  };
}

