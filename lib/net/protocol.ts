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
