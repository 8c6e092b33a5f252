// What a closed connection means for the exit code, and how it reads on stderr.

import type { CloseInfo } from '../websocket.js';
import { ExitCode } from './args.js';
import { warn } from './log.js';

/** 0 for 1000 or a close frame without a code; 3 (and the code and reason on stderr) otherwise. */
export function closeExitCode(info: CloseInfo): ExitCode {
  if (info.code === 1000 || info.code === 1005) return ExitCode.Ok;
  warn(`closed abnormally: ${describeClose(info)}`);
  return ExitCode.Abnormal;
}

export function describeClose(info: CloseInfo): string {
  const reason = info.reason === '' ? '' : ` ${info.reason}`;
  const error = info.error === undefined || info.error.message === info.reason ? '' : ` (${info.error.message})`;
  return `${info.code}${reason}${error}`;
}
