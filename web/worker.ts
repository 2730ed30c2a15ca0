/**
 * The page's Web Worker: all tfjs work of the interactive page runs here, off the UI thread.
 * In: `{ type: 'run', backend?, config }`; out: `stage` (progress), `done` (result, the model's
 * files, the record), `error` (one line). Fetches only same-origin files (data, .wasm).
 */
import type { BrowserBackend } from '../src/browser.ts';
import { execute } from './execute.ts';
import type { RunConfig } from './run.ts';

type In = { type: 'run'; backend?: BrowserBackend; config: RunConfig };

const post = (m: unknown) => (self as unknown as Worker).postMessage(m);

self.onmessage = async (ev: MessageEvent<In>) => {
  try {
    const out = await execute(ev.data.config, ev.data.backend, self.location.href, (s) =>
      post({ type: 'stage', ...s }),
    );
    post({ type: 'done', ...out });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
