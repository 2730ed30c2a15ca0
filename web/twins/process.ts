/**
 * The `process` a page lacks, injected by the browser build for the few reads uib's core makes
 * (process.env.UIB_*, process.stderr.isTTY): no environment, no terminal.
 */
export const process = {
  env: {} as Record<string, string | undefined>,
  stderr: { isTTY: false, write: (_s: string) => true },
  listeners: (_e: string) => [] as unknown[],
  off: () => undefined,
};
