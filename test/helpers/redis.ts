/** A real redis-server for tests: started on a free loopback port, no persistence, stopped by the test. */
import { RedisClient, type Subprocess } from 'bun';

export class RedisServer {
  private proc: Subprocess | undefined;
  constructor(readonly port: number, private readonly cwd: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc = Bun.spawn(['redis-server', '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      cwd: this.cwd,
      stdout: 'ignore',
      stderr: 'pipe',
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = new RedisClient(this.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 500 });
      try {
        await c.connect();
        if ((await c.send('PING', [])) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        c.close();
      }
      if (Date.now() > deadline || this.proc.exitCode !== null) {
        throw new Error(`redis-server did not start on port ${this.port} (is the redis-server package installed?)`);
      }
      await Bun.sleep(50);
    }
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill();
    await this.proc.exited;
    this.proc = undefined;
  }
}
