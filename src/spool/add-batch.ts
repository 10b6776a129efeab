/**
 * Group commit for durable single adds. A durable `add` costs three fsyncs: its file, its id
 * directory and its set directory. Adds made in the same turn of the event loop (requests handled
 * together, `Promise.all` over `add`) run together through `addJobs`, which fsyncs each directory
 * once for all of them, so N such adds cost N file fsyncs and a few directory fsyncs instead of 3N.
 * Each caller's promise settles once its own job is durable (or refused). Adds wait for the end of
 * their turn only while adds arrive several per turn (see `StoreAdds.waitForTurn`).
 *
 * `addJobs` is all or nothing and undoes everything when one job fails, so when a shared run
 * fails, each add runs again alone: one bad add fails only its own caller.
 */
import { SpoolkitError } from '../errors.js';
import { addJobs, type AddOutcome, type AddSpec } from './add.js';
import type { QueueStore } from './store.js';

interface PendingAdd {
  spec: AddSpec;
  resolve: (outcome: AddOutcome) => void;
  reject: (err: unknown) => void;
}

/** A store's adds not run yet, and how the next ones wait for company. */
interface StoreAdds {
  batch: PendingAdd[] | undefined;
  /**
   * True when the last turn of the event loop saw several adds (concurrent requests): the next
   * adds wait for the end of their turn, so that adds from separate callbacks run together. False
   * while adds come one per turn: they wait only for the current microtasks (which still groups a
   * `Promise.all` over `add`), so a lone producer pays no turn of the event loop per add.
   */
  waitForTurn: boolean;
  addsThisTurn: number;
  counting: boolean;
}

const stores = new WeakMap<QueueStore, StoreAdds>();

function adds(store: QueueStore): StoreAdds {
  let s = stores.get(store);
  if (!s) {
    s = { batch: undefined, waitForTurn: false, addsThisTurn: 0, counting: false };
    stores.set(store, s);
  }
  return s;
}

/** Adds one job together with the other adds of this turn of the event loop on the same store. */
export function addWithOthers(store: QueueStore, spec: AddSpec): Promise<AddOutcome> {
  const s = adds(store);
  s.addsThisTurn++;
  if (!s.counting) {
    s.counting = true;
    setImmediate(() => {
      s.counting = false;
      s.waitForTurn = s.addsThisTurn > 1;
      s.addsThisTurn = 0;
    });
  }
  return new Promise((resolve, reject) => {
    if (!s.batch) {
      s.batch = [];
      if (s.waitForTurn) setImmediate(() => runWaitingAdds(store));
      else queueMicrotask(() => runWaitingAdds(store));
    }
    s.batch.push({ spec, resolve, reject });
  });
}

/** Runs the adds waiting on `store` now (a closing Queue calls it; otherwise they run on their own). */
export function runWaitingAdds(store: QueueStore): void {
  const s = stores.get(store);
  const batch = s?.batch;
  if (!s || !batch) return;
  s.batch = undefined;
  if (batch.length > 1) {
    let outcomes: AddOutcome[] | undefined;
    try {
      outcomes = addJobs(store, batch.map((p) => p.spec));
    } catch (err) {
      // Failed after a job became visible: every job of the run is added (addJobs says how), so
      // none may run again alone; each caller gets the error.
      if (err instanceof SpoolkitError && (err.details as { committed?: boolean } | undefined)?.committed) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Nothing of the shared run is left; each add runs alone below and gets its own result.
    }
    if (outcomes) {
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
      return;
    }
  }
  for (const p of batch) {
    try {
      p.resolve(addJobs(store, [p.spec])[0]!);
    } catch (err) {
      p.reject(err);
    }
  }
}
