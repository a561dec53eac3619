/**
 * Progress of long work on stderr: a redrawn bar with rate and ETA on a terminal, plain lines
 * (every 10%) otherwise, so logs stay readable.
 */
export class Progress {
  private readonly start = performance.now();
  private lastPct = -1;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Clears the bar's line on a terminal, so that a result printed between updates starts clean. */
  clear(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }

  update(done: number): void {
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const pct = Math.floor((100 * done) / this.total);
    const text = `${done}/${this.total} ${this.unit} ${pct}%  ${rate.toFixed(1)} ${this.unit}/s  ETA ${formatSeconds(eta)}`;
    if (this.out.isTTY) {
      const width = 30;
      const filled = Math.round((width * done) / this.total);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      if (done >= this.total) this.out.write('\n');
    } else if (Math.floor(pct / 10) > Math.floor(this.lastPct / 10) || done >= this.total) {
      this.out.write(text + '\n');
    }
    this.lastPct = pct;
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60).toString().padStart(2, '0')}s` : `${Math.round(s)}s`;
}
