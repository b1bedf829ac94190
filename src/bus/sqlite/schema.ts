/**
 * The embedded bus's file layout. One SQLite file in WAL mode, shared by every process that opens it.
 *
 * Why a `partitions.id`: messages are keyed by a small integer instead of (topic text, partition) so the
 * primary key of the hot table stays short; the `records` view shows them with their topic names.
 * Partition ids are handed out from `meta.last_partition_id` and never reused, so a topic deleted and
 * created again gets new ids and a reader's old position in it is dropped.
 * Why `time_index`: like Kafka's sparse time index, one row per send whose records raised the partition's
 * running max timestamp. Because that running max never decreases, "the first batch whose running max
 * >= T" is found with one index probe, and the first record with ts >= T is in that batch.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS topics (
  name       TEXT PRIMARY KEY,
  partitions INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  config     TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS partitions (
  id          INTEGER PRIMARY KEY,
  topic       TEXT NOT NULL,
  part        INTEGER NOT NULL,
  next_offset INTEGER NOT NULL DEFAULT 0,
  max_ts      INTEGER,
  UNIQUE (topic, part)
);

CREATE TABLE IF NOT EXISTS messages (
  pid     INTEGER NOT NULL,
  off     INTEGER NOT NULL,
  ts      INTEGER NOT NULL,
  key     BLOB,
  value   BLOB,
  headers TEXT,
  PRIMARY KEY (pid, off)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS time_index (
  pid         INTEGER NOT NULL,
  max_ts      INTEGER NOT NULL,
  base_offset INTEGER NOT NULL,
  PRIMARY KEY (pid, max_ts)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS groups (
  name       TEXT PRIMARY KEY,
  generation INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS members (
  grp                TEXT NOT NULL,
  member_id          TEXT NOT NULL,
  client_id          TEXT NOT NULL,
  topics             TEXT NOT NULL,
  heartbeat_ms       INTEGER NOT NULL,
  session_timeout_ms INTEGER NOT NULL,
  joined_ms          INTEGER NOT NULL,
  PRIMARY KEY (grp, member_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS owners (
  grp            TEXT NOT NULL,
  topic          TEXT NOT NULL,
  part           INTEGER NOT NULL,
  member_id      TEXT NOT NULL,
  lease_until_ms INTEGER NOT NULL,
  PRIMARY KEY (grp, topic, part)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS group_offsets (
  grp          TEXT NOT NULL,
  topic        TEXT NOT NULL,
  part         INTEGER NOT NULL,
  next_offset  INTEGER NOT NULL,
  committed_ms INTEGER NOT NULL,
  PRIMARY KEY (grp, topic, part)
) WITHOUT ROWID;

CREATE VIEW IF NOT EXISTS records AS
  SELECT p.topic AS topic, p.part AS "partition", m.off AS "offset", m.ts AS ts,
         m.key AS key, m.value AS value, m.headers AS headers
  FROM messages m JOIN partitions p ON p.id = m.pid;
`;
