/**
 * Where cdc resumes: a binlog file and offset at a transaction boundary, saved only after the bus acknowledged
 * every record before it (see run.ts). Two stores:
 *
 * - mysql (default, like Maxwell): `<schema_database>.positions` in the source server, Maxwell's own table
 *   (PRIMARY KEY (server_id, client_id); server_id is the SOURCE server's @@server_id), so tools that read
 *   Maxwell's positions read ours. One cdc per client id: a named lock (GET_LOCK) held by the store's connection;
 *   the server frees it when that connection dies, kill -9 included.
 * - local: `<state_dir>/cdc/<client_id>.position.json`, written atomically (temp file, fsync, rename, fsync of the
 *   directory), guarded by a pid lock file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { q, RtwhError, rtwhError } from '../../errors';
import { lockPositionFile, type Lock } from '../taildir/lock';
import { writeFileAtomicAsync } from '../../store/atomic-file';
import { checkIdentifier } from '../../store/mysql';
import type { CdcConn } from './conn';

export interface BinlogPosition {
  file: string;
  pos: number;
  /** MariaDB GTID (domain-server-seq) of the last transaction before the position, when known. */
  gtid?: string | null;
}

export interface PositionStore {
  /** For messages: where positions live. */
  readonly where: string;
  load(): Promise<BinlogPosition | undefined>;
  save(p: BinlogPosition): Promise<void>;
  close(): Promise<void>;
}

export function formatPosition(p: BinlogPosition): string {
  return `${p.file}:${p.pos}`;
}

/** `mysql-bin.000003:4` → position; the file name must look like a binlog file. */
export function parsePosition(text: string, what = '--init-position'): BinlogPosition {
  const m = /^([A-Za-z0-9._-]+):(\d+)$/.exec(text.trim());
  if (!m || Number(m[2]) < 4) {
    throw rtwhError('USAGE', `invalid ${what} ${q(text)}: expected FILE:POS, e.g. mysql-bin.000003:4 (positions start at 4)`);
  }
  return { file: m[1]!, pos: Number(m[2]) };
}

/** Maxwell's positions table (MysqlSavedSchema / schema.sql), created when missing. */
const POSITIONS_DDL = (db: string) => `CREATE TABLE IF NOT EXISTS \`${db}\`.\`positions\` (
  server_id int unsigned not null,
  binlog_file varchar(255),
  binlog_position int unsigned,
  gtid_set varchar(4096),
  client_id varchar(255) charset latin1 not null default 'maxwell',
  heartbeat_at bigint null default null,
  last_heartbeat_read bigint null default null,
  primary key(server_id, client_id)
)`;

/** Maxwell's bootstrap request table: `rtwh cdc bootstrap` inserts, the running cdc carries them out. */
const BOOTSTRAP_DDL = (db: string) => `CREATE TABLE IF NOT EXISTS \`${db}\`.\`bootstrap\` (
  id bigint primary key auto_increment,
  database_name varchar(255) charset utf8 not null,
  table_name varchar(255) charset utf8 not null,
  where_clause text default null,
  is_complete tinyint unsigned not null default 0,
  inserted_rows bigint unsigned not null default 0,
  total_rows bigint unsigned not null default 0,
  created_at DATETIME default null,
  started_at DATETIME default null,
  completed_at DATETIME default null,
  binlog_file varchar(255) default null,
  binlog_position int unsigned default 0,
  client_id varchar(255) charset latin1 not null default 'maxwell',
  comment varchar(255) charset utf8 default null
)`;

/** Creates `<db>`, `<db>.positions` and `<db>.bootstrap` when missing. */
export async function ensureMaxwellSchema(conn: CdcConn, database: string): Promise<void> {
  const db = checkIdentifier(database, '--schema-database');
  await conn.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``, [], `creating database ${db}`);
  await conn.query(POSITIONS_DDL(db), [], `creating ${db}.positions`);
  await conn.query(BOOTSTRAP_DDL(db), [], `creating ${db}.bootstrap`);
}

export class MysqlPositionStore implements PositionStore {
  readonly where: string;
  private locked = false;

  constructor(
    private readonly conn: CdcConn,
    private readonly database: string,
    /** The SOURCE server's @@server_id (Maxwell keys positions by it). */
    private readonly serverId: number,
    private readonly clientId: string,
  ) {
    this.where = `${database}.positions (server_id ${serverId}, client_id ${clientId})`;
  }

  /** Takes the per-client lock; a second cdc with the same client id is refused. */
  async lock(): Promise<void> {
    const name = `rtwh-cdc:${this.serverId}:${this.clientId}`;
    const [row] = await this.conn.query<{ got: number | null }[]>('SELECT GET_LOCK(?, 0) AS got', [name], 'taking the cdc lock');
    if (row?.got !== 1) {
      throw rtwhError('POSITION_LOCKED', `another cdc with client id ${q(this.clientId)} is running against this server`, {
        hint: 'Stop it first, or give this one its own --client-id (each client id keeps its own position).',
        details: { lock: name },
      });
    }
    this.locked = true;
  }

  /** After a reconnect the server has forgotten the lock (it was tied to the old connection): take it again. */
  async relock(): Promise<void> {
    if (this.locked) await this.lock();
  }

  async load(): Promise<BinlogPosition | undefined> {
    const rows = await this.conn.query<{ binlog_file: string | null; binlog_position: number | null; gtid_set: string | null }[]>(
      `SELECT binlog_file, binlog_position, gtid_set FROM \`${this.database}\`.\`positions\` WHERE server_id = ? AND client_id = ?`,
      [this.serverId, this.clientId],
      'reading the stored position',
    );
    const r = rows[0];
    if (!r || !r.binlog_file || r.binlog_position === null) return undefined;
    return { file: r.binlog_file, pos: Number(r.binlog_position), gtid: r.gtid_set };
  }

  async save(p: BinlogPosition): Promise<void> {
    await this.conn.query(
      `INSERT INTO \`${this.database}\`.\`positions\` (server_id, client_id, binlog_file, binlog_position, gtid_set, heartbeat_at, last_heartbeat_read)
       VALUES (?, ?, ?, ?, ?, ?, NULL)
       ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), binlog_position = VALUES(binlog_position),
         gtid_set = VALUES(gtid_set), heartbeat_at = VALUES(heartbeat_at)`,
      [this.serverId, this.clientId, p.file, p.pos, p.gtid ?? null, Date.now()],
      'saving the position',
    );
  }

  async close(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await this.conn.query('SELECT RELEASE_LOCK(?)', [`rtwh-cdc:${this.serverId}:${this.clientId}`]).catch(() => undefined);
  }
}

interface LocalPositionDoc {
  server_id: number;
  client_id: string;
  binlog_file: string;
  binlog_position: number;
  gtid_set: string | null;
  saved_at: string;
}

export class LocalPositionStore implements PositionStore {
  readonly where: string;
  private lockHandle: Lock | undefined;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly serverId: number,
    private readonly clientId: string,
  ) {
    this.where = path;
  }

  static pathFor(stateDir: string, clientId: string): string {
    return join(stateDir, 'cdc', `${clientId}.position.json`);
  }

  lock(): void {
    try {
      this.lockHandle = lockPositionFile(this.path);
    } catch (e) {
      if (e instanceof RtwhError && e.code === 'POSITION_LOCKED') {
        throw rtwhError('POSITION_LOCKED', `another cdc uses the position file ${q(this.path)}`, {
          hint: 'Stop it first, or give this one its own --client-id.',
          cause: e,
        });
      }
      throw e;
    }
  }

  async load(): Promise<BinlogPosition | undefined> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw rtwhError('POSITION_FILE', `cannot read the cdc position file ${q(this.path)}: ${(e as Error).message}`, { cause: e });
    }
    let doc: Partial<LocalPositionDoc>;
    try {
      doc = JSON.parse(text) as Partial<LocalPositionDoc>;
    } catch {
      doc = {};
    }
    if (typeof doc.binlog_file !== 'string' || typeof doc.binlog_position !== 'number') {
      throw rtwhError('POSITION_FILE', `the cdc position file ${q(this.path)} is damaged`, {
        hint: 'Restore it, or move it away and restart with --init-position FILE:POS (without one cdc starts at the end of the binlog and skips what happened meanwhile).',
      });
    }
    if (doc.server_id !== undefined && doc.server_id !== this.serverId) {
      throw rtwhError('POSITION_FILE', `the cdc position file ${q(this.path)} belongs to server_id ${doc.server_id}, but the server has server_id ${this.serverId}`, {
        hint: 'Positions of one server mean nothing on another. Use another --client-id or --position-store, or move the file away.',
      });
    }
    return { file: doc.binlog_file, pos: doc.binlog_position, gtid: doc.gtid_set ?? null };
  }

  async save(p: BinlogPosition): Promise<void> {
    const doc: LocalPositionDoc = {
      server_id: this.serverId,
      client_id: this.clientId,
      binlog_file: p.file,
      binlog_position: p.pos,
      gtid_set: p.gtid ?? null,
      saved_at: new Date().toISOString(),
    };
    // One write at a time, renamed in order: an older position never lands over a newer one. Asynchronous: the
    // two fsyncs take milliseconds, and cdc's thread decodes meanwhile.
    const done = this.writing.then(() => writeFileAtomicAsync(this.path, `${JSON.stringify(doc)}\n`, { mode: 0o644, mkdir: true }));
    this.writing = done.catch(() => undefined);
    await done;
  }

  async close(): Promise<void> {
    this.lockHandle?.release();
    this.lockHandle = undefined;
  }
}
