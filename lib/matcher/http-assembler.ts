// SPA over HTTP, sniffed: a request may come in several TCP segments (tinyproxy writes its request
// line and each header apart), so the segments of a flow that began with "GET /" are joined until
// the blank line that ends the headers. Bounded: MAX_FLOWS flows (the oldest go), MAX_BYTES a
// request, FLOW_MS to complete it. A piece counts only if its TCP sequence number follows on
// exactly from the data before: a retransmission, a reordered piece or one forged into a proxy's
// request (a header injected from outside the connection) is not joined; a request with a lost
// or reordered piece expires unread. Pure: the time is handed in.

import { isHttpGet } from '../spa/http-request.js';

export const MAX_FLOWS = 1024;
export const MAX_BYTES = 4096;
export const FLOW_MS = 3000;

export interface Segment {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  readonly payload: string;
  /** TCP sequence number of the segment's first byte. */
  readonly seq: number;
}

const ended = (text: string) => text.includes('\r\n\r\n') || text.includes('\n\n');

export class HttpAssembler {
  /** Flow → what it sent so far and when it began; insertion order is age order. */
  private readonly flows = new Map<string, { text: string; since: number; next: number }>();

  get size(): number {
    return this.flows.size;
  }

  /** The whole request once `seg` completes one, else undefined (kept, or not part of a request). */
  push(seg: Segment, now: number): string | undefined {
    this.expire(now);
    const key = `${seg.src} ${seg.sport} ${seg.dst} ${seg.dport}`;
    const flow = this.flows.get(key);
    let text: string;
    let since: number;
    if (isHttpGet(seg.payload)) {
      this.flows.delete(key); // a new request on a kept-alive connection starts over
      [text, since] = [seg.payload, now];
    } else if (flow && seg.seq === flow.next) {
      [text, since] = [flow.text + seg.payload, flow.since];
    } else {
      return undefined;
    }
    const next = (seg.seq + seg.payload.length) >>> 0;
    if (ended(text) || text.length > MAX_BYTES) {
      this.flows.delete(key);
      return ended(text) ? text : undefined;
    }
    if (!this.flows.has(key) && this.flows.size >= MAX_FLOWS) this.flows.delete(this.flows.keys().next().value!);
    this.flows.set(key, { text, since, next }); // an existing flow keeps its place: the map stays in age order
    return undefined;
  }

  private expire(now: number): void {
    for (const [key, f] of this.flows) {
      if (now - f.since < FLOW_MS) break; // the rest are younger
      this.flows.delete(key);
    }
  }
}
