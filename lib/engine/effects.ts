// What the engine asks the shell to do, in answer to an Input (inputs.ts). The engine decides; the
// shell (lib/daemon) owns the processes, files, sockets and timers that carry each effect out, in
// the order given.

import type { Door, KnockStep } from '../config/types.js';
import type { OpenRequest } from '../actions/runner.js';
import type { Grant } from '../firewall/commands.js';
import type { FleetClaim, GrantShare } from '../fleet/session-types.js';
import type { Ban } from '../matcher/bans.js';
import type { SesameEvent } from '../events/types.js';

// Defined by the fleet session (a lower layer), which hands them over; named here for the shell.
export type { FleetClaim, GrantShare };

export type Effect =
  /** A log line (knockd's text); `stderr` also when the daemon runs in the foreground. */
  | { readonly kind: 'log'; readonly line: string; readonly stderr?: boolean }
  /** A -D line. */
  | { readonly kind: 'debug'; readonly line: string }
  /** Run a door's start command (and schedule its stop command). */
  | { readonly kind: 'run'; readonly request: OpenRequest }
  /** Put `grants` in the kernel (lib/engine/grant-plan.ts resolved them); `done` is logged when they are in. */
  | {
    readonly kind: 'grant'; readonly knocker: string; readonly door: Door; readonly grants: readonly Grant[]; readonly done: string;
  }
  /** Run an allowed SPA command message (no shell; as the door's SPA_Command_User, within its Cmd_Timeout). */
  | { readonly kind: 'exec'; readonly knocker: string; readonly door: Door; readonly argv: readonly string[] }
  /** Decrypt a GnuPG SPA message: each door's readings in order until one decrypts; answer with a 'gpg-done' input. */
  | {
    readonly kind: 'gpg'; readonly id: number;
    readonly tries: readonly { readonly door: Door; readonly doorIndex: number; readonly messages: readonly Uint8Array[] }[];
  }
  /** A one-time door was used: rewrite its file, then hand the result back as an 'onetime-rotated' input. */
  | { readonly kind: 'rotate'; readonly doorIndex: number; readonly door: Door; readonly line: number; readonly used: readonly KnockStep[] }
  /** A source was banned: the shell keeps the bans in force (Engine.bans) for restarts and --status, and tells the kernel. */
  | { readonly kind: 'ban'; readonly ban: Ban }
  /** Something to count and tell (metrics, Event_Webhook, Event_Command); only with EngineOptions.events. */
  | { readonly kind: 'event'; readonly event: SesameEvent }
  /** Door sequences or local addresses changed: the capture filter must be rebuilt (Engine.filter). */
  | { readonly kind: 'filter' }
  /** Fleet: a shared door's last port was hit here by `src` without a local open: ask the other nodes for its hits. */
  | { readonly kind: 'ask'; readonly door: string; readonly src: string; readonly family: 4 | 6 }
  /** Fleet: tell the other nodes of a grant made here. */
  | { readonly kind: 'share'; readonly grant: GrantShare }
  /** Fleet: claim first; carry out `granted` if this node won (or Redis is unreachable), else `refused`. */
  | { readonly kind: 'claim'; readonly claim: FleetClaim; readonly granted: readonly Effect[]; readonly refused: readonly Effect[] };

export type EffectKind = Effect['kind'];
