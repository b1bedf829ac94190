import { expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaSql } from '../../../src/mock/db/schema';

const FIXTURE = join(import.meta.dir, '../../../fixtures/gmall/schema.sql');

/** The DDL `mock db --init` runs, as a file for people and tools that want plain SQL. */
function render(): string {
  return `-- The gmall business schema rtwh creates (\`rtwh mock db --init\`), generated from src/mock/db/schema.ts.\n-- Regenerate: RTWH_UPDATE_FIXTURES=1 bun test test/mock/db/fixture.test.ts\nSET NAMES utf8mb4;\n\n${schemaSql().join(';\n\n')};\n`;
}

test('fixtures/gmall/schema.sql is the schema mock db creates', () => {
  if (process.env.RTWH_UPDATE_FIXTURES === '1') writeFileSync(FIXTURE, render());
  expect(readFileSync(FIXTURE, 'utf8')).toBe(render());
});
