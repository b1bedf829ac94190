/** tail on the embedded bus (a fresh SQLite file per run). */
import { join } from 'node:path';
import { tempDir } from '../helpers/cli';
import { tailSuite } from './suite';

tailSuite('sqlite', async () => ({
  url: `sqlite:${join(tempDir('rtwh-tail-bus-'), 'bus.db')}`,
  ready: async () => {},
  bigTopicConfig: {},
  cleanup: async () => {},
}));
