/** Images per second over a window of about five seconds, so the figure follows the current speed. */
export class ThroughputMeter {
  private windowStart: number;
  private windowImages = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windowStart = now();
  }

  /** Count a batch; returns the rate since the window began (the window restarts once it is full). */
  add(images: number): number {
    this.windowImages += images;
    const now = this.now();
    const rate = (this.windowImages / Math.max(now - this.windowStart, 1e-6)) * 1000;
    if (now - this.windowStart > this.windowMs) {
      this.windowStart = now;
      this.windowImages = 0;
    }
    return rate;
  }
}
