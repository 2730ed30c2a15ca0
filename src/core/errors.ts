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

/** Plain words for the file-system errors a user can cause or fix (never a raw errno message). */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EBUSY: 'in use (a mount point or the working directory?)',
  EXDEV: 'on another file system than its parent',
  EROFS: 'on a read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ENXIO: 'no such device (a socket?)',
  EINVAL: 'invalid argument (moving a directory into itself?)',
  EIO: 'input/output error',
};

/** The error codes `errnoError` reports as bad input (exit 2): the path given is at fault. */
const USER_ERRNO = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EISDIR',
  'ENOTDIR',
  'EEXIST',
  'ENOTEMPTY',
  'EBUSY',
  'EXDEV',
  'EROFS',
  'ELOOP',
  'ENAMETOOLONG',
  'ENXIO',
  'EINVAL',
]);

/** "permission denied (EACCES)" for a Node file-system error; the message's first line otherwise. */
export function describeErrno(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code in ERRNO_TEXT) return `${ERRNO_TEXT[code]} (${code})`;
  if (typeof code === 'string') return code;
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/**
 * A Node file-system error (it has `code` and `path`) as a one-line message naming the path, and
 * whether it is the user's input at fault (exit 2) or the machine's (exit 1); null for others.
 */
export function errnoError(e: unknown): { message: string; usage: boolean } | null {
  const err = e as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  if (!err || typeof err.code !== 'string' || !/^E[A-Z]+$/.test(err.code)) return null;
  const where = err.dest ? `${err.path} → ${err.dest}` : (err.path ?? err.syscall ?? 'file');
  return { message: `${where}: ${describeErrno(err)}`, usage: USER_ERRNO.has(err.code) };
}
