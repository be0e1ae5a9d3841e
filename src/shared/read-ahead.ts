/**
 * An async iterable that asks for its next item as soon as it hands one out, so the source (a DuckDB read of the
 * next block) works while the caller works on the current one. Items come in the same order; one more is held.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      // a failure of the read ahead surfaces when it is awaited above, not as an unhandled rejection meanwhile
      next.catch(() => {});
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}
