/** `rtwh groups [list|describe]`: consumer groups with CURRENT-OFFSET, LOG-END-OFFSET and LAG. */
import type { Command } from 'commander';
import { q, rtwhError } from '../src/errors';
import { withAdmin } from './bus-helpers';
import { withCommonFlags, type Ctx } from './context';
import { formatOption, printTable } from './print';

export function registerGroups(program: Command, ctx: Ctx): void {
  const groups = program
    .command('groups')
    .description('Consumer groups and their lag (CURRENT-OFFSET, LOG-END-OFFSET, LAG)')
    .addHelpText('after', '\nExamples:\n  rtwh groups\n  rtwh groups describe rtwh-dim');

  withCommonFlags(groups.command('list', { isDefault: true }))
    .description('Every group with its topics and total lag')
    .addOption(formatOption())
    .action(async (opts: { format?: string }, cmd: Command) => {
      const rows = await withAdmin(ctx, cmd, async (admin) => {
        const names = (await admin.listGroups()).sort();
        const out: unknown[][] = [];
        for (const g of names) {
          const lag = await admin.groupLag(g);
          const topics = [...new Set(lag.map((l) => l.topic))].sort().join(',');
          out.push([g, topics, lag.length, lag.reduce((s, l) => s + l.lag, 0)]);
        }
        return out;
      }, true);
      printTable(ctx, cmd, opts.format, [
        ['GROUP', 'VARCHAR'],
        ['TOPICS', 'VARCHAR'],
        ['PARTITIONS', 'INTEGER'],
        ['LAG', 'BIGINT'],
      ], rows);
    });

  withCommonFlags(groups.command('describe'))
    .description('Per partition: CURRENT-OFFSET, LOG-END-OFFSET, LAG and the owning member')
    .argument('<group>', 'group id')
    .addOption(formatOption())
    .action(async (group: string, opts: { format?: string }, cmd: Command) => {
      const lag = await withAdmin(ctx, cmd, async (admin) => {
        const names = await admin.listGroups();
        if (!names.includes(group)) throw rtwhError('GROUP_NOT_FOUND', `consumer group ${q(group)} does not exist`);
        return admin.groupLag(group);
      }, true);
      printTable(ctx, cmd, opts.format, [
        ['TOPIC', 'VARCHAR'],
        ['PARTITION', 'INTEGER'],
        ['CURRENT-OFFSET', 'BIGINT'],
        ['LOG-END-OFFSET', 'BIGINT'],
        ['LAG', 'BIGINT'],
        ['MEMBER', 'VARCHAR'],
      ], lag
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
        .map((l) => [l.topic, l.partition, l.currentOffset ?? '-', l.logEndOffset, l.lag, l.memberId ?? '-']));
    });
}
