// The transport protocols a knock, a grant or an SPA request names: one type and one text form
// ("tcp/22") for every layer, so none declares its own.

export type Protocol = 'tcp' | 'udp';

export function isProtocol(v: unknown): v is Protocol {
  return v === 'tcp' || v === 'udp';
}

/** `tcp/22`: the text knockd.conf, fwknop and the log lines use. */
export function protoPortText(protocol: Protocol, port: number): string {
  return `${protocol}/${port}`;
}

/** A protocol and a port: a knock step, a guarded or granted port, an SPA access item. */
export interface ProtoPort {
  readonly protocol: Protocol;
  readonly port: number;
}

/** `tcp/22` of a ProtoPort. */
export function formatProtoPort(p: ProtoPort): string {
  return protoPortText(p.protocol, p.port);
}
