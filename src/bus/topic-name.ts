/** Kafka's topic name rule as a flag check: a bad --topic/--dlq/--to is refused before anything is opened or created. */
import { q, rtwhError } from '../errors';

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** What is wrong with `v` as a topic name (Kafka's rule: 1–249 of letters, digits, . _ -, not . or ..), or undefined. */
export function topicNameProblem(v: string): string | undefined {
  return TOPIC_NAME.test(v) && v !== '.' && v !== '..' ? undefined : 'expected a topic name (letters, digits, . _ -; at most 249)';
}

/** `v` when it is a topic name; else USAGE naming the flag and the value. */
export function topicFlag(flag: string, v: string): string {
  const problem = topicNameProblem(v);
  if (problem) throw rtwhError('USAGE', `invalid ${flag} ${q(v)}: ${problem}`);
  return v;
}

/** `v` when it is a non-empty consumer group id; else USAGE naming the flag. */
export function groupFlag(flag: string, v: string): string {
  if (v.trim() === '') throw rtwhError('USAGE', `invalid ${flag} ${q(v)}: expected a consumer group name (not empty)`);
  return v;
}
