// One timer for the engine's next deadline (ruling 2: a timeout is reported without waiting for
// the next packet). A deadline past setTimeout's limit (Seq_Timeout over 24.8 days) is reached by
// waking up at the limit and arming again (Node would otherwise fire after 1 ms, again and again).

import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS } from '../actions/runner.js';

export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for: arming again for the same one changes nothing. */
  private armedFor: number | undefined;

  constructor(private readonly due: () => number | undefined, private readonly fire: (now: number) => void) {}

  /** Arms for the current deadline (none: disarmed). Call after anything that may move it. */
  arm(): void {
    const next = this.due();
    if (this.timer && next === this.armedFor) return; // every packet arms: most change nothing
    this.stop();
    if (next === undefined) return;
    this.armedFor = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = undefined;
      this.fire(performance.now());
      this.arm();
    }, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(next - performance.now()))));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }
}
