/** `rtwh topics [list|create|describe|delete]` on either bus. */
import type { Command } from 'commander';
import { countOf } from '../src/cli/progress';
import { q, rtwhError } from '../src/errors';
import { MAX_PARTITIONS } from '../src/bus/sqlite/store';
import { topicFlag } from '../src/bus/topic-name';
import { withAdmin } from './bus-helpers';
import { wholeNumber } from './flags';
import { withCommonFlags, type Ctx } from './context';
import { formatOption, printTable } from './print';

export function registerTopics(program: Command, ctx: Ctx): void {
  const topics = program
    .command('topics')
    .description('List, create, describe and delete topics (Kafka or the embedded sqlite bus)')
    .addHelpText('after', '\nExamples:\n  rtwh topics\n  rtwh topics create ods_db -p 4\n  rtwh topics describe ods_db\n  rtwh --bus kafka://127.0.0.1:9092 topics');

  withCommonFlags(topics.command('list', { isDefault: true }))
    .description('Topics with their partition count and total records (end − start offsets)')
    .addOption(formatOption())
    .action(async (opts: { format?: string }, cmd: Command) => {
      const rows = await withAdmin(ctx, cmd, async (admin) => {
        const list = await admin.listTopics();
        return list
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((t) => [
            t.name,
            t.partitions.length,
            t.partitions.reduce((s, p) => s + (p.endOffset - p.startOffset), 0),
            t.partitions.reduce((s, p) => s + p.endOffset, 0),
          ]);
      }, true);
      printTable(ctx, cmd, opts.format, [
        ['NAME', 'VARCHAR'],
        ['PARTITIONS', 'INTEGER'],
        ['RECORDS', 'BIGINT'],
        ['END-OFFSETS', 'BIGINT'],
      ], rows);
    });

  withCommonFlags(topics.command('create'))
    .description('Create a topic')
    .argument('<name>', 'topic name ([A-Za-z0-9._-], up to 249 characters)')
    .option('-p, --partitions <n>', 'number of partitions', '1')
    .option('-r, --replicas <n>', 'replication factor (Kafka only)')
    .option('-c, --topic-config <key=value...>', 'topic config entries, e.g. -c retention.ms=86400000')
    .action(async (name: string, opts: { partitions: string; replicas?: string; topicConfig?: string[] }, cmd: Command) => {
      topicFlag('topic', name);
      const partitions = wholeNumber('--partitions', opts.partitions, 1, MAX_PARTITIONS);
      const replicationFactor = opts.replicas === undefined ? undefined : positiveInt('--replicas', opts.replicas);
      const config = Object.fromEntries((opts.topicConfig ?? []).map(parseKv));
      const created = await withAdmin(ctx, cmd, (admin) =>
        admin.createTopic({
          name,
          partitions,
          ...(replicationFactor !== undefined ? { replicationFactor } : {}),
          ...(Object.keys(config).length ? { config } : {}),
        }),
      );
      if (!created) throw rtwhError('TOPIC_EXISTS', `topic ${q(name)} already exists`);
      ctx.err(`created topic ${name} with ${partitions} partition${partitions === 1 ? '' : 's'}`);
    });

  withCommonFlags(topics.command('describe'))
    .description('Partitions of a topic with start and end offsets')
    .argument('<name>', 'topic name')
    .addOption(formatOption())
    .action(async (name: string, opts: { format?: string }, cmd: Command) => {
      topicFlag('topic', name);
      const info = await withAdmin(ctx, cmd, (admin) => admin.describeTopic(name), true);
      printTable(ctx, cmd, opts.format, [
        ['PARTITION', 'INTEGER'],
        ['START-OFFSET', 'BIGINT'],
        ['END-OFFSET', 'BIGINT'],
        ['RECORDS', 'BIGINT'],
      ], info.partitions.map((p) => [p.partition, p.startOffset, p.endOffset, p.endOffset - p.startOffset]));
    });

  withCommonFlags(topics.command('delete'))
    .description('Delete a topic and all its records (previews unless --execute)')
    .argument('<name>', 'topic name')
    .option('--execute', 'really delete')
    .action(async (name: string, opts: { execute?: boolean }, cmd: Command) => {
      topicFlag('topic', name);
      await withAdmin(ctx, cmd, async (admin) => {
        const info = await admin.describeTopic(name);
        const records = info.partitions.reduce((s, p) => s + p.endOffset - p.startOffset, 0);
        if (!opts.execute) {
          ctx.err(`would delete topic ${name} (${countOf(info.partitions.length, 'partitions')}, ${countOf(records, 'records')}); run again with --execute to do it`);
          return;
        }
        await admin.deleteTopic(name);
        ctx.err(`deleted topic ${name} (${countOf(records, 'records')})`);
      }, true);
    });
}

export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw rtwhError('USAGE', `invalid ${flag} ${q(v)}: expected a whole number ≥ 1`);
  return n;
}

function parseKv(s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw rtwhError('USAGE', `invalid --topic-config ${q(s)}: expected key=value`);
  return [s.slice(0, i), s.slice(i + 1)];
}

