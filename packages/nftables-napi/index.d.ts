export interface RunResult {
  /** nft_run_cmd_from_buffer returned 0. */
  ok: boolean;
  /** What nft printed (JSON text with `{ json: true }`). */
  output: string;
  /** nft's error messages ("Error: ..." lines), empty on success. */
  error: string;
}

export interface RunOptions {
  /** JSON input and output (NFT_CTX_OUTPUT_JSON). */
  json?: boolean;
}

/** One libnftables context (nft_ctx). Calls run one at a time, off the event loop. */
export declare class NftContext {
  constructor();
  run(text: string, opts?: RunOptions): Promise<RunResult>;
  listSetJson(family: string, table: string, set: string): Promise<{ nftables: Array<Record<string, unknown>> }>;
  close(): void;
}

/** A named counter of an inet table, read from the kernel directly; null if it does not exist. */
export declare function readCounter(table: string, name: string): { packets: number; bytes: number } | null;

/** One inet table's objects as raw netlink attributes (one Buffer per message); null if the table or set is missing. */
export declare function dump(kind: 'tables' | 'table' | 'chains' | 'sets' | 'objects' | 'rules' | 'elements', table: string, set?: string): Buffer[] | null;

declare const _default: { NftContext: typeof NftContext; readCounter: typeof readCounter; dump: typeof dump };
export default _default;
