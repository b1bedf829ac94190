/**
 * The shape of a query result, shared by the stores that produce it and the renderers that print it.
 * It lives here (not in store/) so the renderers, the HTTP API and tests need no database to use it.
 */

export interface ResultColumn {
  name: string;
  /** The SQL type as the database names it, e.g. `BIGINT`, `DECIMAL(18,2)`, `VARCHAR[]`. */
  type: string;
}

/**
 * A DECIMAL kept as its exact decimal text (`"-123.450"`), never as a double.
 * A class rather than a bare string so renderers can tell it from VARCHAR: JSON writes it unquoted.
 */
export class ExactDecimal {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  /** JSON.stringify cannot emit an unquoted arbitrary-precision number; a string at least keeps the digits. */
  toJSON(): string {
    return this.text;
  }
}

/**
 * What a store puts in a cell: integers that fit are `number`, wider ones (`BIGINT`, `HUGEINT`) `bigint`,
 * decimals `ExactDecimal`, temporal and other scalar types their SQL text, nested types arrays/objects.
 */
export type Cell = null | boolean | number | bigint | string | ExactDecimal | Cell[] | { [key: string]: Cell };

export interface QueryResult {
  columns: ResultColumn[];
  rows: Cell[][];
}

/**
 * What a renderer accepts: any rows. Values it does not know (Date, Uint8Array, …) are printed sensibly,
 * so a store that hands over driver values still renders.
 */
export interface RenderableResult {
  columns: readonly ResultColumn[];
  rows: readonly (readonly unknown[])[];
}
