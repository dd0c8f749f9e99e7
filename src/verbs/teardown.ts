/**
 * Closing a device context: its objects destroyed children first, as the
 * kernel's uverbs cleanup (uverbs_destroy_ufile_hw) ends up doing — QPs, then
 * what they used. Both backends' close() go through here.
 */

type Cls<T> = abstract new (...a: never[]) => T;

/** One class of object and how the context destroys one. */
export interface TeardownStep<O> {
  cls: Cls<O>;
  destroy(o: O): Promise<void>;
}

export function step<T extends O, O>(cls: Cls<T>, destroy: (o: T) => Promise<void>): TeardownStep<O> {
  return { cls, destroy: destroy as (o: O) => Promise<void> };
}

/**
 * Destroys every object of the first step's class, then of the next, and so
 * on; `skip` passes over an object (e.g. one already dead). A failed destroy
 * goes to `onError`, and the rest carry on; without `onError` it ends the
 * teardown with that error.
 */
export async function destroyInOrder<O extends object>(
  objects: Iterable<O>,
  steps: readonly TeardownStep<O>[],
  o: { skip?: (x: O) => boolean; onError?: (x: O, e: unknown) => void } = {},
): Promise<void> {
  for (const s of steps) {
    for (const x of [...objects]) {
      if (!(x instanceof s.cls) || o.skip?.(x)) continue;
      try {
        await s.destroy(x);
      } catch (e) {
        if (!o.onError) throw e;
        o.onError(x, e);
      }
    }
  }
}
