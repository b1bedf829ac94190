/**
 * A throwaway MariaDB for tests that restart or kill the server: its own data dir and port, configured like
 * scripts/stack.sh's (ROW binlog, FULL images and metadata), so the shared stack other tests use is never touched.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectMysql } from '../../../src/store/mysql';
import { tempDir } from '../../helpers/cli';
import { freePort } from '../../helpers/net';

const PASSWORD = 'rtwh-test';

function findCmd(name: string): string {
  for (const d of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin']) {
    if (existsSync(join(d, name))) return join(d, name);
  }
  throw new Error(`${name} not found: install mariadb-server (scripts/stack.sh up does)`);
}

export interface MariadbInstance {
  url: string;
  port: number;
  /** Clean shutdown (SIGTERM, InnoDB flushed), waits for the process to end. */
  stop(): Promise<void>;
  /** kill -9 of mariadbd. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes nothing else than the process (the temp dir stays for post-mortems). */
  dispose(): Promise<void>;
}

export async function startMariadb(): Promise<MariadbInstance> {
  const dir = tempDir('rtwh-mariadb-');
  const data = join(dir, 'data');
  const port = await freePort();
  const cnf = join(dir, 'my.cnf');
  const init = join(dir, 'init.sql');
  writeFileSync(cnf, `[mysqld]
datadir=${data}
socket=${join(dir, 'mariadbd.sock')}
pid-file=${join(dir, 'mariadbd.pid')}
log-error=${join(dir, 'mariadbd.err')}
port=${port}
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
default-time-zone=+00:00
innodb_buffer_pool_size=32M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
server_id=11
log_bin=mysql-bin
binlog_format=ROW
binlog_row_image=FULL
binlog_row_metadata=FULL
`);
  writeFileSync(init, `SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('${PASSWORD}');
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
`);
  mkdirSync(dir, { recursive: true });
  const install = Bun.spawnSync([findCmd('mariadb-install-db'), `--defaults-file=${cnf}`, `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], {
    stdout: 'pipe',
    stderr: 'pipe',
  });
  if (install.exitCode !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr.toString().slice(-2000)}`);
  const url = `mysql://root:${PASSWORD}@127.0.0.1:${port}/mysql`;
  let proc: Bun.Subprocess | undefined;

  const start = async () => {
    proc = Bun.spawn([findCmd('mariadbd'), `--defaults-file=${cnf}`, '--user=root', `--init-file=${init}`], { stdout: 'ignore', stderr: 'ignore', stdin: 'ignore' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const c = await connectMysql(url, { database: null, connectTimeoutMs: 1000 });
        await c.close();
        return;
      } catch (e) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`the test MariaDB on port ${port} did not start (${(e as Error).message}); see ${join(dir, 'mariadbd.err')}`);
        await Bun.sleep(200);
      }
    }
  };
  const stopWith = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    p.kill(signal);
    await p.exited;
  };
  await start();
  return {
    url,
    port,
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    dispose: () => stopWith('SIGTERM'),
  };
}
