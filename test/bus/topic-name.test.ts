import { describe, expect, test } from 'bun:test';
import { groupFlag, topicFlag, topicNameProblem } from '../../src/bus/topic-name';
import { rtwhErrorOf } from '../helpers/errors';

describe('topic and group names given as flags', () => {
  test.each(['ods_db', 'a.b-c_1', 'x'.repeat(249)])('%p is a topic name', (v) => {
    expect(topicNameProblem(v)).toBeUndefined();
    expect(topicFlag('--topic', v)).toBe(v);
  });

  test.each(['', ' ', 'a b', '.', '..', 'x'.repeat(250), 'ünï', 'a;b'])('%p is refused as USAGE naming the flag and the value', (v) => {
    const e = rtwhErrorOf(() => topicFlag('--dlq', v));
    expect(e.code).toBe('USAGE');
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`invalid --dlq ${JSON.stringify(v)}: expected a topic name (letters, digits, . _ -; at most 249)`);
  });

  test('an empty group is refused; any other text is a group id', () => {
    expect(groupFlag('--group', 'rtwh-dim')).toBe('rtwh-dim');
    const e = rtwhErrorOf(() => groupFlag('--group', ' '));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('invalid --group " ": expected a consumer group name (not empty)');
  });
});
