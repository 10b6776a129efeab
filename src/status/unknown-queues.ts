/**
 * Queue names given on a command line that the spool does not have: a mistyped name must neither
 * create a queue nor read as an empty, healthy one.
 */

/** A sentence naming the queues of `names` missing from `known` and the ones the spool has; undefined when none is missing. */
export function unknownQueuesMessage(root: string, known: readonly string[], names: readonly string[]): string | undefined {
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length === 0) return undefined;
  const has = known.length > 0 ? `its queues are ${quoted(known)}` : 'it has no queues yet ("spoolkit jobs add" or a Queue of the app creates one)';
  return `There is no queue ${quoted(unknown)} in the spool at ${root}; ${has}.`;
}

function quoted(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}
