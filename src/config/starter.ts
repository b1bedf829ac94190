/** `rtwh config init`: a commented starter rtwh.toml generated from the key declarations. */
import { KEYS, type KeySpec } from './schema';

export function starterToml(): string {
  const lines: string[] = [
    '# rtwh.toml — configuration of rtwh.',
    '# Precedence: command-line flags > RTWH_* environment variables > this file > built-in defaults.',
    '# `rtwh config show` prints the merged result (passwords masked).',
    '',
  ];
  const top = KEYS.filter((k) => !k.key.includes('.'));
  for (const k of top) lines.push(...entry(k, k.key));
  const tables = [...new Set(KEYS.filter((k) => k.key.includes('.')).map((k) => k.key.split('.')[0]!))];
  for (const t of tables) {
    lines.push(`[${t}]`);
    for (const k of KEYS.filter((x) => x.key.startsWith(`${t}.`))) lines.push(...entry(k, k.key.slice(t.length + 1)));
  }
  return lines.join('\n');
}

function entry(k: KeySpec, name: string): string[] {
  const out = [`# ${k.doc}.`];
  const extra = [`env ${k.env}`];
  if (k.flag) extra.unshift(`flag --${k.flag}`);
  if (k.values) extra.push(`one of: ${k.values.join(', ')}`);
  out.push(`# (${extra.join('; ')})`);
  if (k.default !== undefined) out.push(`#${name} = ${tomlValue(k.default)}`);
  if (k.example !== undefined) out.push(`# example: ${name} = ${tomlValue(k.example)}`);
  out.push('');
  return out;
}

function tomlValue(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
