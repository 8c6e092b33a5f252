// Messages for the person at the terminal go to stderr, one line each, prefixed with the tool's
// name, so that stdout carries nothing but messages.

export function warn(message: string): void {
  process.stderr.write(`prise-ws: ${message}\n`);
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    if ((stream as { destroyed?: boolean }).destroyed) return resolve();
    stream.write('', () => resolve());
  });
}
