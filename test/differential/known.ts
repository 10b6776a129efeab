/**
 * Differences between spoolkit and BullMQ that this test found and that are not documented as
 * deliberate. Each one is reported for a fix; scenarios list where it shows (see `KnownDifference`).
 * None are open: the last two (`retries-exhausted` after a failure without `attempts`, and the
 * Worker `completed` listener's undefined result) were fixed in the core.
 */
export {};
