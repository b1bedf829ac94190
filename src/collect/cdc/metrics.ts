/**
 * What cdc is doing, for the status line, `/metrics` (Prometheus text format) and `/healthz`.
 */
import { formatPosition, type BinlogPosition } from './position';

export interface CdcStatus {
  /** reading: following the binlog · waiting: MySQL or the bus is unavailable, retrying · starting · stopping */
  state: 'starting' | 'reading' | 'waiting' | 'stopping';
  /** Why it waits, when it does. */
  waitingFor?: string;
  clientId: string;
  topic: string;
  /** Row changes read from the binlog (records of included tables). */
  rows: number;
  /** Records the bus acknowledged. */
  recordsSent: number;
  /** Rows per second over the last status period. */
  rowsPerSecond: number;
  ddl: number;
  bootstrapRows: number;
  reconnects: number;
  /** Position read up to. */
  read: BinlogPosition;
  /** Position stored (a restart resumes here). */
  committed: BinlogPosition;
  /** Bytes of binlog the server has written beyond `read`; null when unknown (server unreachable). */
  lagBytes: number | null;
  /** How long ago the server was where cdc reads now; null when unknown. */
  lagSeconds: number | null;
  queueRecords: number;
  queueBytes: number;
  /** The queue's bounds: reading pauses once either is reached (a commit may pass them by one transaction). */
  queueMaxRecords: number;
  queueMaxBytes: number;
  /** Batches handed to the bus and not acknowledged yet, their records and bytes. */
  inflightBatches: number;
  inflightRecords: number;
  inflightBytes: number;
  /** At most this many batches are in flight (3 with the producer thread; 1 on sqlite produced in cdc's own thread). */
  inflightMaxBatches: number;
  startedAt: number;
}

function labels(s: CdcStatus): string {
  return `client_id=${JSON.stringify(s.clientId)},topic=${JSON.stringify(s.topic)}`;
}

/** The Prometheus exposition text of a status. */
export function prometheusText(s: CdcStatus): string {
  const l = labels(s);
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number | null, extra = '') => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    if (value !== null) lines.push(`${name}{${l}${extra}} ${value}`);
  };
  metric('rtwh_cdc_rows_total', 'counter', 'Row changes read from the binlog.', s.rows);
  metric('rtwh_cdc_records_sent_total', 'counter', 'Records the bus acknowledged.', s.recordsSent);
  metric('rtwh_cdc_ddl_total', 'counter', 'DDL statements handled.', s.ddl);
  metric('rtwh_cdc_bootstrap_rows_total', 'counter', 'Rows written by bootstraps.', s.bootstrapRows);
  metric('rtwh_cdc_reconnects_total', 'counter', 'Binlog connections reopened after a failure.', s.reconnects);
  metric('rtwh_cdc_queue_records', 'gauge', 'Records waiting for the bus.', s.queueRecords);
  metric('rtwh_cdc_queue_bytes', 'gauge', 'Bytes waiting for the bus.', s.queueBytes);
  metric('rtwh_cdc_queue_max_records', 'gauge', 'Records the queue holds before reading pauses.', s.queueMaxRecords);
  metric('rtwh_cdc_queue_max_bytes', 'gauge', 'Bytes the queue holds before reading pauses.', s.queueMaxBytes);
  metric('rtwh_cdc_inflight_batches', 'gauge', 'Batches sent to the bus and not acknowledged yet.', s.inflightBatches);
  metric('rtwh_cdc_inflight_records', 'gauge', 'Records of the batches in flight.', s.inflightRecords);
  metric('rtwh_cdc_inflight_bytes', 'gauge', 'Bytes of the batches in flight.', s.inflightBytes);
  metric('rtwh_cdc_inflight_max_batches', 'gauge', 'Most batches in flight at once.', s.inflightMaxBatches);
  metric('rtwh_cdc_lag_bytes', 'gauge', 'Binlog bytes the server has written beyond the read position.', s.lagBytes);
  metric('rtwh_cdc_lag_seconds', 'gauge', 'How long ago the server was at the read position.', s.lagSeconds);
  metric('rtwh_cdc_read_position', 'gauge', 'Offset read up to in the binlog file named by the file label.', s.read.pos, `,file=${JSON.stringify(s.read.file)}`);
  metric('rtwh_cdc_committed_position', 'gauge', 'Stored offset (restart point) in the file named by the file label.', s.committed.pos, `,file=${JSON.stringify(s.committed.file)}`);
  metric('rtwh_cdc_up', 'gauge', '1 while reading, 0 while waiting for MySQL or the bus.', s.state === 'reading' ? 1 : 0, `,state=${JSON.stringify(s.state)}`);
  return `${lines.join('\n')}\n`;
}

export interface HttpEndpoint {
  readonly url: string;
  stop(): void;
}

/** `/metrics` and `/healthz` on bind:port (127.0.0.1 by default: nothing is exposed beyond the machine). */
export function serveMetrics(bind: string, port: number, status: () => CdcStatus): HttpEndpoint {
  const server = Bun.serve({
    hostname: bind,
    port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === '/metrics') return new Response(prometheusText(status()), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
      if (path === '/healthz') {
        const s = status();
        const ok = s.state === 'reading' || s.state === 'starting';
        const body = { status: ok ? 'ok' : s.state, waiting_for: s.waitingFor ?? null, read: formatPosition(s.read), committed: formatPosition(s.committed), lag_seconds: s.lagSeconds };
        return Response.json(body, { status: ok ? 200 : 503 });
      }
      return new Response('not found: try /metrics or /healthz\n', { status: 404 });
    },
  });
  return { url: `http://${bind}:${server.port}`, stop: () => void server.stop(true) };
}

/** "lag 1.2 s (340 KB)" for the status line. */
export function lagText(s: CdcStatus): string {
  if (s.lagBytes === null) return 'lag ?';
  if (s.lagBytes === 0) return 'lag 0 s';
  const secs = s.lagSeconds === null ? '?' : s.lagSeconds < 10 ? s.lagSeconds.toFixed(1) : Math.round(s.lagSeconds).toString();
  return `lag ${secs} s (${bytesText(s.lagBytes)})`;
}

export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
