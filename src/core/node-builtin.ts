/**
 * A Node built-in module when this runs on Node, else undefined (a page, a Web Worker). It goes
 * through `process.getBuiltinModule` (Node ≥ 20.16), Node's own API for modules that run in both:
 * no static `node:` import, so a browser bundle carries none, and the caller keeps a portable route
 * for the page. Only for modules that have one; Node-only code imports `node:*` as usual.
 */
export function nodeBuiltin<T>(id: `node:${string}`): T | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return p?.getBuiltinModule?.(id) as T | undefined;
}
