// The metrics Sesame exports (Metrics_Listen), named once: the registry, the dashboard and the
// alert rules (packaging/) and their tests read this list. Label values come from the config
// (door names) or fixed lists (lib/events/types.ts), never from packets: a flood of made-up
// sources cannot grow the series.

export interface MetricName {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly labels: readonly string[];
}

export const METRICS = {
  grants: { name: 'sesame_grants_total', type: 'counter', labels: ['door', 'kind'],
    help: 'Accesses granted, by door and how (knock, spa, nat, fleet, totp).' },
  activeGrants: { name: 'sesame_active_grants', type: 'gauge', labels: ['door'],
    help: 'Grants in the kernel now for the door\'s Open ports (read from nftables at scrape time).' },
  stages: { name: 'sesame_knock_stages_total', type: 'counter', labels: ['door', 'stage'],
    help: 'Knocks that reached a stage of a door\'s sequence (stage 1 is the first port).' },
  spaRefused: { name: 'sesame_spa_refused_total', type: 'counter', labels: ['reason'],
    help: 'SPA messages refused, by reason (hmac, replay, age, decode, policy, gpg, http, busy, disk).' },
  commands: { name: 'sesame_commands_total', type: 'counter', labels: ['door', 'phase', 'status'],
    help: 'Door commands run, by phase (start, stop, spa) and status (ok, failed).' },
  captureDropped: { name: 'sesame_capture_dropped_total', type: 'counter', labels: ['source'],
    help: 'Packets lost before matching: kernel (capture ring full), queue (daemon behind), nflog (kernel matching events).' },
  repairs: { name: 'sesame_firewall_repairs_total', type: 'counter', labels: ['what'],
    help: 'Times the firewall was found changed and put right: table (replaced whole), grants (lost or stray), kernel-table.' },
  redisUp: { name: 'sesame_fleet_redis_up', type: 'gauge', labels: [],
    help: '1 while the fleet\'s Redis is reachable, 0 while it is not (absent without a fleet).' },
  fleetNotes: { name: 'sesame_fleet_notes_total', type: 'counter', labels: ['direction', 'result'],
    help: 'Fleet notes sent (direction="out": sent, failed) and received (direction="in": accepted if sealed and fresh, else refused).' },
  bansActive: { name: 'sesame_bans_active', type: 'gauge', labels: [],
    help: 'Sources banned now (Max_Failures).' },
  eventsDropped: { name: 'sesame_events_dropped_total', type: 'counter', labels: ['sink'],
    help: 'Events not delivered to Event_Webhook or Event_Command (queue full, or out of retries).' },
} as const satisfies Record<string, MetricName>;

export const METRIC_NAMES: readonly string[] = Object.values(METRICS).map((m) => m.name);
