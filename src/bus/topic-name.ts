/**
 * Kafka's topic name rule (Topic.java: 1–249 of letters, digits, . _ -, not "." or ".."), in one place: the buses
 * refuse a bad name as INVALID_NAME, and a bad --topic/--dlq/--to is refused as a usage error before anything is
 * opened or created. The sqlite bus keeps the same rule so a name that works there also works on a broker.
 */
import { q, rtwhError } from '../errors';

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export const TOPIC_NAME_HINT = 'Kafka topic names are 1–249 characters of letters, digits, ".", "_" and "-", and are not "." or "..".';

/** What is wrong with `v` as a topic name, or undefined. */
export function topicNameProblem(v: string): string | undefined {
  return TOPIC_NAME.test(v) && v !== '.' && v !== '..' ? undefined : 'expected a topic name (letters, digits, . _ -; at most 249)';
}

/** `name` when it is a topic name; else INVALID_NAME (a name a bus was given). */
export function checkTopicName(name: unknown): string {
  if (typeof name !== 'string' || topicNameProblem(name) !== undefined) {
    throw rtwhError('INVALID_NAME', `invalid topic name ${q(name)}`, { hint: TOPIC_NAME_HINT, details: { topic: name } });
  }
  return name;
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
