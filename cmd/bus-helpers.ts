/** Opening the configured bus for a command, and closing it whatever happens. */
import type { Command } from 'commander';
import { openBus } from '../src/bus/index';
import type { Admin, Bus } from '../src/bus/types';
import type { Ctx } from './context';

/** `readOnly`: the command only looks (lists, describes): an embedded bus file that is not there is not created. */
export async function withAdmin<T>(ctx: Ctx, cmd: Command, f: (admin: Admin, bus: Bus) => Promise<T>, readOnly = false): Promise<T> {
  const { config } = ctx.config(cmd);
  const bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId, mustExist: readOnly });
  try {
    const admin = await bus.admin();
    try {
      return await f(admin, bus);
    } finally {
      await admin.close();
    }
  } finally {
    await bus.close();
  }
}
