// Deadlines for socket tests. uvu never times a test out, so a test that talks over a real
// socket wraps its work in withTimeout(): a hang becomes a failure naming what was awaited, and
// the test's `finally` still gets to close its server. A deadline is never an assertion about
// speed; pick it generously.

/** Resolves or rejects with `work`, or rejects once `ms` have passed. */
export async function withTimeout<T>(
  work: Promise<T> | (() => Promise<T>),
  ms: number,
  what = 'test',
): Promise<T> {
  const promise = typeof work === 'function' ? work() : work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `condition()` holds, checking every few milliseconds; rejects after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waiting for ${what}: still false after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
