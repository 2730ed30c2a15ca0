/**
 * Errors. Library code throws `UsageError` for bad input (the CLI prints its one-line message and
 * exits 2) and lets every other fault rise (exit 1). Only `cli/main.ts` prints and exits.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /**
   * @param where the file, flag or field at fault (`--beta`, `data/train-images-idx3-ubyte`)
   * @param problem what is wrong and, where useful, what is allowed and what was received
   */
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    // Text echoed from a hostile file may hold control characters (CR, NUL, ESC): escape them so
    // the message stays one printable line.
    super(
      `${where}: ${problem}`.replace(
        /\p{Cc}/gu,
        (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
      ),
    );
  }
}

/** Thrown when an unlearning run diverges (NaN/Inf loss, exploding gradient); the original model is kept. */
export class DivergenceError extends Error {
  override readonly name = 'DivergenceError';
}

export function isUsageError(e: unknown): e is UsageError {
  return e instanceof UsageError;
}

/** One-line description of any thrown value (for stderr). */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}
