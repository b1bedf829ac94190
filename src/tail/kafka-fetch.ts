/** Placeholder: replaced by the direct Kafka fetch reader. */
import { openBus } from '../bus/index.ts';
import { openBusSource, type TopicReadOptions } from './bus-source.ts';
import type { TailSource } from './source.ts';

export async function openKafkaFetchSource(url: string, opts: TopicReadOptions): Promise<TailSource> {
  const bus = await openBus(url);
  const s = await openBusSource(bus, opts);
  const close = s.close.bind(s);
  s.close = async () => {
    await close();
    await bus.close();
  };
  return s;
}
