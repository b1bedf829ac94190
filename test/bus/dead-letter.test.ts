import { expect, test } from 'bun:test';
import { deadLetter, DLQ_HEADER, dlqTopic } from '../../src/bus/dead-letter';

test('a dead letter keeps the original bytes and says why and from where', () => {
  const m = deadLetter('not json', 'not a JSON object: Unexpected token', 'ship log', { file: 'applog/app.log', position: 120 }, null, 1700000000000);
  expect(m.value).toBe('not json');
  expect(m.headers).toEqual({
    [DLQ_HEADER.reason]: 'not a JSON object: Unexpected token',
    [DLQ_HEADER.stage]: 'ship log',
    [DLQ_HEADER.time]: '1700000000000',
    [DLQ_HEADER.file]: 'applog/app.log',
    [DLQ_HEADER.position]: '120',
  });
  expect(dlqTopic('ods_log')).toBe('ods_log_dlq');
});
