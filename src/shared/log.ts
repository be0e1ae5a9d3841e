/**
 * A logger is passed in, never a module singleton. The CLI's writes human lines to stderr so that
 * stdout stays for results; tests pass `silentLogger` or a collecting one.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Progress of long work: `done` of `total` units (total may be unknown: 0). */
  progress(label: string, done: number, total: number): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, progress: () => {} };

export function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(`warning: ${m}`),
    progress: () => {},
  };
}

/** stderr logger with a throttled single-line progress bar (only redrawn on a TTY, summarised otherwise). */
export function stderrLogger(stream: NodeJS.WriteStream = process.stderr): Logger {
  let lastDraw = 0;
  let lastLabel = '';
  let open = false;
  const tty = Boolean(stream.isTTY);
  const clear = () => {
    if (open && tty) stream.write('\r\x1b[2K');
    open = false;
  };
  return {
    info: (m) => {
      clear();
      stream.write(`${m}\n`);
    },
    warn: (m) => {
      clear();
      stream.write(`warning: ${m}\n`);
    },
    progress: (label, done, total) => {
      const now = Date.now();
      const finished = total > 0 && done >= total;
      if (!finished && now - lastDraw < (tty ? 100 : 5000) && label === lastLabel) return;
      lastDraw = now;
      lastLabel = label;
      const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const bar = total > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}%` : `${done.toLocaleString('en-US')}`;
      const line = `${label} ${bar}${total > 0 ? ` ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}` : ''}`;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        open = !finished;
        if (finished) stream.write('\n');
      } else if (finished || now - lastDraw >= 0) {
        stream.write(`${line}\n`);
      }
    },
  };
}
