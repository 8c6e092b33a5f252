// Messages for the person at the terminal go to stderr, one line each, prefixed with the tool's
// name, so that stdout carries nothing but messages.

export function warn(message: string): void {
  process.stderr.write(`prise-ws: ${message}\n`);
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const state = stream as { destroyed?: boolean; errored?: unknown };
    if (state.destroyed === true || (state.errored ?? null) !== null) return resolve();
    stream.write('', () => resolve());
  });
}
