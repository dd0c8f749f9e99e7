/**
 * Command-line parsing shared by rdmactl and rdma-brokerd: node:util's
 * parseArgs, with its errors rewritten as one short line naming the problem
 * (its own text suggests `--` tricks a user of these tools never needs), and
 * the one-line report both tools print for a usage error (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: the message names the problem in one line. */
export class UsageError extends Error {}

/** The option a parseArgs message quotes first, as the user would type it ("-j, --json" → "--json"). */
function quotedOption(message: string): string {
  const m = /'([^']*)'/.exec(message);
  const q = (m?.[1] ?? '').replace(/ <value>$/, '');
  return q.split(', ').pop() ?? q;
}

/** parseArgs's error as one line of ours. */
export function usageMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = String(err.message ?? e);
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quotedOption(msg)}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(msg) ? `${quotedOption(msg)} takes no value` : `${quotedOption(msg)} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quotedOption(msg))}`;
    default:
      return msg.split('\n')[0] ?? msg;
  }
}

/** parseArgs (give it strict: true); its errors become UsageError with our wording. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new UsageError(usageMessage(e));
  }
}

/** The line a tool prints on stderr for a usage error: `PROG: PROBLEM (see PROG --help)`. */
export function usageLine(prog: string, message: string): string {
  return `${prog}: ${message} (see ${prog} --help)\n`;
}
