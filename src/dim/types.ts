/**
 * The dimension layer's shared shapes: one routing rule from the `table_process` config table, the store that
 * holds the dim tables (embedded SQLite file or MySQL/MariaDB), and what the dim job writes into it.
 *
 * Dim values are text, as in the seed's Phoenix tables (every column VARCHAR): a DECIMAL keeps its digits, a
 * DATETIME its "YYYY-MM-DD hh:mm:ss", a BIGINT its decimal digits, NULL stays NULL. Later jobs read names and ids.
 */

/** One routing rule: rows of `sourceTable` go to dim table `sinkTable`, projected onto `sinkColumns`, keyed by `sinkPk`. */
export interface TableProcess {
  sourceTable: string;
  sinkTable: string;
  /** In config order; always contains `sinkPk`. */
  sinkColumns: string[];
  /** Primary-key column of the dim table (config NULL/empty → `id`). */
  sinkPk: string;
  /** Phoenix-only table options (`SALT_BUCKETS = 4`): recorded and reported, never put into SQL. */
  sinkExtend: string | null;
  /** 2023 variant only (`sink_family`, HBase column family): recorded. */
  sinkFamily?: string | null;
}

/** A dim row: column → text value or NULL. */
export type DimRow = Record<string, string | null>;

/** One change the dim job applies: an upsert of the projected row, or a delete by key. */
export type DimWrite =
  | { op: 'upsert'; table: string; pk: string; id: string; row: DimRow }
  | { op: 'delete'; table: string; pk: string; id: string };

/** Input position stored with the writes (the NEXT offset to read, Kafka's convention). */
export interface StoredOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  /**
   * Fencing: the stored offset this writer started its batch from (null: none was stored). When given and the
   * store holds another value, another job advanced the partition meanwhile: apply() changes nothing and fails
   * with DIM_OFFSET_FENCED, so a job that lost a partition in a rebalance cannot overwrite newer rows.
   */
  expected?: number | null;
}

/** What ensureTable did. */
export interface EnsureResult {
  created: boolean;
  /** Columns added to an existing table (never removed). */
  added: string[];
}

/** Options of ensureTable. */
export interface EnsureOptions {
  /**
   * Recorded as the table's creator when this call creates it (the dim job passes its group). A table that
   * was there already keeps its creator, or none: `--drop-on-delete` drops only tables its own group created.
   */
  owner?: string;
}

/** A dim table the store knows (created or adopted by ensureTable). */
export interface ManagedTable {
  table: string;
  pk: string;
  /** The `owner` of the ensureTable call that created it; null when it existed before (or was created by an older rtwh). */
  createdBy: string | null;
}

/** A row that changed (update or delete) after a reader may have cached it: invalidation feed for lookup caches. */
export interface DimInvalidation {
  seq: number;
  table: string;
  /** The row's key; `ALL_ROWS` ('*') when the whole table went (dropTable): forget every row of `table`. */
  id: string;
}

/** `DimInvalidation.id` of a whole-table entry. A real id '*' is covered too (forgetting more is always safe). */
export const ALL_ROWS = '*';

/**
 * The dim store. Both implementations are safe with several writers at once (two dim jobs): DDL is idempotent
 * (create if missing, add missing columns), writes are upserts/deletes by key.
 */
export interface DimStore {
  /** `sqlite:PATH` or `mysql://user:…@host:port/db` (password masked). */
  readonly description: string;
  /**
   * Creates the dim table for a rule, or adds the rule's columns it lacks. Never drops a column. A rule the store
   * refuses for good fails with INVALID_NAME (a reserved or bad name) or DIM_SCHEMA (the table exists keyed by
   * another column, or the server refuses the definition); a store that is away fails with DIM_STORE_UNAVAILABLE
   * (SQLite locked) or waits (MySQL).
   */
  ensureTable(tp: TableProcess, opts?: EnsureOptions): Promise<EnsureResult>;
  /** Drops a dim table (and forgets it); false when it was not there. */
  dropTable(sinkTable: string): Promise<boolean>;
  /** The dim tables the store knows, with who created them (`_rtwh_dim_tables`), ordered by name. */
  managedTables(): Promise<ManagedTable[]>;
  /**
   * Applies writes in order and stores the input offsets, in ONE transaction: after a crash either both or
   * neither are there. Updates and deletes of existing rows are also appended to the invalidation feed.
   */
  apply(writes: readonly DimWrite[], offsets: readonly StoredOffset[]): Promise<void>;
  /** Offsets stored by `apply` for a group: `topic:partition` → next offset to read. */
  offsets(group: string): Promise<Map<string, number>>;
  get(table: string, id: string): Promise<DimRow | undefined>;
  getMany(table: string, ids: readonly string[]): Promise<Map<string, DimRow>>;
  /** Invalidation feed entries after `seq` (at most `limit`), oldest first; `latestSeq()` to start from now. */
  invalidationsSince(seq: number, limit?: number): Promise<DimInvalidation[]>;
  latestSeq(): Promise<number>;
  /**
   * The feed is pruned (oldest first, keeping about the last hour / million entries): every entry with
   * seq <= this number is gone. A reader whose last seen seq is below it missed some and must forget all.
   */
  invalidationFloor(): Promise<number>;
  /** Dim tables that exist (any created by ensureTable), with their columns. */
  tables(): Promise<Map<string, string[]>>;
  /** Every row of a dim table, ordered by key (tests, `rtwh dim show`). */
  scan(table: string): Promise<DimRow[]>;
  close(): Promise<void>;
}
