// fwknop's SPA message types, declared once (docs/fwknop-spa.md §1): what each carries after the
// message (a NAT access field, a client timeout) and whether it asks for a command. The codec
// (message.ts, wire.ts), the NAT decision (matcher/spa-nat.ts) and the gate read this table.

export interface MessageKind {
  readonly type: number;
  readonly name: string;
  /** A command message (type 0): the message is a command, not an access request. */
  readonly command: boolean;
  /** NAT access: forward to an internal host, or to a local port; undefined for none. */
  readonly nat: 'forward' | 'local' | undefined;
  /** A client timeout field follows. */
  readonly clientTimeout: boolean;
}

export const MESSAGE_KINDS: readonly MessageKind[] = [
  { type: 0, name: 'COMMAND', command: true, nat: undefined, clientTimeout: false },
  { type: 1, name: 'ACCESS', command: false, nat: undefined, clientTimeout: false },
  { type: 2, name: 'NAT_ACCESS', command: false, nat: 'forward', clientTimeout: false },
  { type: 3, name: 'CLIENT_TIMEOUT_ACCESS', command: false, nat: undefined, clientTimeout: true },
  { type: 4, name: 'CLIENT_TIMEOUT_NAT_ACCESS', command: false, nat: 'forward', clientTimeout: true },
  { type: 5, name: 'LOCAL_NAT_ACCESS', command: false, nat: 'local', clientTimeout: false },
  { type: 6, name: 'CLIENT_TIMEOUT_LOCAL_NAT_ACCESS', command: false, nat: 'local', clientTimeout: true },
];

/** The kind of a message type; undefined for a type fwknop does not define. */
export function kindOf(type: number): MessageKind | undefined {
  return MESSAGE_KINDS[type]?.type === type ? MESSAGE_KINDS[type] : undefined;
}

/** The type of an access request (never a command) with these fields. */
export function accessType(nat: 'forward' | 'local' | undefined, clientTimeout: boolean): number {
  return MESSAGE_KINDS.find((k) => !k.command && k.nat === nat && k.clientTimeout === clientTimeout)!.type;
}
