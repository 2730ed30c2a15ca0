/**
 * The page's Web Worker: all tfjs work of the interactive page runs here, off the UI thread.
 * In: `{ type: 'run', backend?, config, data? }` (`data`: the user's dropped set, its buffers
 * transferred); out: `stage` (progress), `done` (result, both models' files, the record; the
 * weights transferred), `error` (one line). Fetches only same-origin files (data, .wasm).
 */
import type { BrowserBackend } from '../src/browser.ts';
import { execute } from './execute.ts';
import type { PageData, RunConfig } from './run.ts';

type In = { type: 'run'; backend?: BrowserBackend; config: RunConfig; data?: PageData };

const post = (m: unknown, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = async (ev: MessageEvent<In>) => {
  try {
    const out = await execute(
      ev.data.config,
      ev.data.backend,
      self.location.href,
      (s) => post({ type: 'stage', ...s }),
      ev.data.data,
    );
    post({ type: 'done', ...out }, [out.files.weights, out.originalFiles.weights]);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
