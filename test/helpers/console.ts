// Collects what console.error prints during a test, and puts console.error back afterwards.

import { format } from 'node:util';

export interface CapturedConsole {
  /** Everything printed so far, one line per call. */
  text(): string;
  restore(): void;
}

export function captureConsoleError(): CapturedConsole {
  const original = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => void lines.push(format(...args));
  return {
    text: () => lines.join('\n'),
    restore: () => void (console.error = original),
  };
}
