// The daemon's capture processes, one per interface, behind one filter: opened together at
// start-up (the first failure closes the rest and is the start-up error), refiltered together,
// stopped together. Their losses go to the log through a LossReport.

import { CaptureSupervisor } from '../capture/supervisor.js';
import { LossReport } from '../capture/losses.js';
import type { Logger } from '../log/logger.js';
import type { Packet } from '../matcher/types.js';

export class Captures {
  private readonly all: CaptureSupervisor[] = [];
  private readonly losses = new LossReport();

  /** `bufferSize`: libpcap's ring per interface in bytes (Capture_Buffer or its default). */
  constructor(
    private readonly interfaces: readonly string[], private readonly logger: Logger, private readonly bufferSize: number,
    private readonly lost: (counts: Readonly<Record<string, number>>) => void = () => {},
  ) {}

  /** Opens every interface; rejects with the first one's error (knockd's `could not open ...`). */
  async open(filter: string, onPackets: (packets: Packet[]) => void, onReopened: () => void = () => {}): Promise<void> {
    this.logger.debug(`adding pcap expression: ${filter}`);
    for (const iface of this.interfaces) {
      const sup = new CaptureSupervisor(iface, filter, {
        packets: onPackets,
        reopened: onReopened,
        notice: (m) => this.logger.log(m, { stderr: true }),
        dropped: (counts) => {
          this.logger.debug(`dropped frames: ${JSON.stringify(counts)}`);
          this.lost(counts);
          const line = this.losses.add(iface, counts);
          if (line) this.logger.log(line);
        },
      }, this.bufferSize);
      try {
        const link = await sup.start();
        this.logger.debug(link === 'ETHERNET' ? 'ethernet interface detected' : `${link} interface detected`);
      } catch (err) {
        this.stop();
        sup.stop();
        throw err;
      }
      this.all.push(sup);
    }
  }

  setFilter(filter: string): void {
    this.logger.debug(`new pcap expression: ${filter}`);
    for (const c of this.all) c.setFilter(filter);
  }

  stop(): void {
    for (const c of this.all) c.stop();
  }
}
