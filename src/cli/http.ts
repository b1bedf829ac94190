/**
 * The small HTTP endpoint of long-running commands (`--http`): `/metrics` in Prometheus text format and
 * `/healthz`, plus the caller's routes (`rtwh run dws` adds `/query`), bound to http.bind (127.0.0.1 by default:
 * nothing is exposed beyond the machine).
 */

export interface Metric {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  /** One sample per label set; a null value writes the HELP/TYPE lines only (unknown now). */
  samples: { labels?: Record<string, string | number>; value: number | null }[];
}

function labelText(labels: Record<string, string | number> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function prometheus(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) if (s.value !== null) lines.push(`${m.name}${labelText(s.labels)} ${s.value}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface Health {
  ok: boolean;
  body: Record<string, unknown>;
}

export interface HttpEndpoint {
  readonly url: string;
  /** The port listened on (the one the OS chose when asked for port 0). */
  readonly port: number;
  stop(): void;
}

/** Extra routes (e.g. `/query` of `rtwh run dws`): a Response for the paths it serves, undefined for the others. */
export type HttpRoutes = (req: Request, path: string) => Response | Promise<Response> | undefined;

export function serveHttp(bind: string, port: number, metrics: () => readonly Metric[], health: () => Health, routes?: HttpRoutes): HttpEndpoint {
  const server = Bun.serve({
    hostname: bind,
    port,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const routed = routes?.(req, path);
      if (routed !== undefined) return routed;
      if (path === '/metrics') return new Response(prometheus(metrics()), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
      if (path === '/healthz') {
        const h = health();
        return Response.json(h.body, { status: h.ok ? 200 : 503 });
      }
      return new Response('not found: try /metrics or /healthz\n', { status: 404 });
    },
  });
  const actual = server.port ?? port;
  return { url: `http://${bind.includes(':') ? `[${bind}]` : bind}:${actual}`, port: actual, stop: () => void server.stop(true) };
}
