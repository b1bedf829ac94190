/**
 * `run dwd log` over an ods_log of several partitions, then `run dws`, on the embedded bus: every ods_log partition
 * holds a whole day in time order, and the DWS windows allow 3 s of out-of-orderness. The DWD topics must keep each
 * input partition's records together and in order (one output partition per input partition); written into one
 * partition batch by batch, event time in it went back by hours at each batch of another input partition, and
 * `run dws` dropped about half of the page views as late.
 */
import { expect, test } from 'bun:test';
import { cli, tempDir } from '../helpers/cli';

test('a 3-partition ods_log: the DWD topics get 3 partitions and run dws counts every page view, none late', async () => {
  const cwd = tempDir('rtwh-dwd-parts-');
  const run = async (...argv: string[]) => {
    const r = await cli(argv, { cwd });
    expect({ argv, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ argv, code: 0, stderr: '' });
    return r;
  };
  await run('topics', 'create', 'ods_log', '-p', '3');
  await run('mock', 'log', '--date', '2025-03-01', '--seed', '51', '--max-mid', '1500', '--startup-count', '1500', '--to', 'ods_log');
  await run('run', 'dwd', 'log', '--until-idle');
  const topics = JSON.parse((await run('topics', '--json')).stdout) as { NAME: string; PARTITIONS: number; RECORDS: number }[];
  const page = topics.find((t) => t.NAME === 'dwd_traffic_page');
  expect(page?.PARTITIONS).toBe(3);
  // enough pages for several batches of run dws
  expect(page!.RECORDS).toBeGreaterThan(5000);

  const dws = await run('run', 'dws', 'traffic_vc_ch_ar_is_new', '--until-idle');
  expect(dws.stderr).not.toMatch(/\blate\b/);
  const rows = JSON.parse((await run('query', '--preset', 'traffic_hourly', '--date', '2025-03-01', '--format', 'json')).stdout) as { pv: number }[];
  expect(rows.reduce((s, r) => s + r.pv, 0)).toBe(page!.RECORDS);
}, 120_000);
