/**
 * Progress of a run on stderr: a cli-progress bar over the run's units of work (train original,
 * train Retrain, each method) on a TTY; one line per finished unit otherwise; nothing when quiet.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** What is running now (shown beside the bar). */
  stage(text: string): void;
  /** One unit finished (or was found done); `note` is logged on non-TTY streams. */
  done(note: string): void;
  /** A line that must be seen (a failed method); printed above the bar. */
  warn(line: string): void;
  stop(): void;
}

export function createProgress(
  total: number,
  opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) {
    return { stage() {}, done() {}, warn: (l) => stream.write(`${l}\n`), stop() {} };
  }
  if (!stream.isTTY) {
    let n = 0;
    return {
      stage() {},
      done(note) {
        n++;
        stream.write(`[${n}/${total}] ${note}\n`);
      },
      warn: (l) => stream.write(`${l}\n`),
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'uib run |{bar}| {value}/{total} · {duration_formatted} · {stage}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  let stage = 'starting';
  bar.start(total, 0, { stage });
  // Redraw once a second so the duration moves during a long training run.
  const timer = setInterval(() => bar.update(value, { stage }), 1000);
  timer.unref();
  return {
    stage(text) {
      stage = text;
      bar.update(value, { stage });
    },
    done() {
      value++;
      bar.update(value, { stage });
    },
    warn(line) {
      // Clear the bar's line, print, and let the next update redraw it.
      stream.write(`\r\x1b[K${line}\n`);
      bar.update(value, { stage });
    },
    stop() {
      clearInterval(timer);
      bar.stop();
    },
  };
}

/**
 * The job route's status (local pool, Redis queue): `done 5/16 · running 2 · failed 0 · ETA 40 s`.
 * The ETA is the time per job run so far (jobs found done cost nothing) times the jobs left.
 */
export function jobStatusLine(s: {
  done: number;
  total: number;
  running: number;
  failed: number;
  /** Jobs run (not found done) so far, and the time since the first started. */
  ran: number;
  elapsedMs: number;
}): string {
  const left = Math.max(0, s.total - s.done);
  const eta = s.ran > 0 && left > 0 ? ` · ETA ${formatDuration((s.elapsedMs / s.ran) * left)}` : '';
  return `done ${s.done}/${s.total} · running ${s.running} · failed ${s.failed}${eta}`;
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
