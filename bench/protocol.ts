// The conversation between the benchmark and a worker process (bench/worker.ts).

/** Sent on the worker's stdin, one JSON line each. */
export type WorkerCommand =
  | { type: 'invoke'; id: number; event: unknown; timeoutMs: number }
  | { type: 'exit' };

/** Written by the worker to fd 3, one JSON line each. */
export type WorkerReport =
  | {
      type: 'ready';
      /** `await import(bundle)`: Lambda's init phase for this function. */
      importMs: number;
      importCpuMs: number;
      /** From process start to the end of the import. */
      readyMs: number;
      rssMb: number;
      maxRssMb: number;
    }
  | {
      type: 'result';
      id: number;
      /** When the invocation started (epoch ms, sub-millisecond), to compare with the server's clock. */
      startedAt: number;
      wallMs: number;
      cpuMs: number;
      ok: boolean;
      detail: string;
      rssMb: number;
      maxRssMb: number;
    };

export type ReadyReport = Extract<WorkerReport, { type: 'ready' }>;
export type ResultReport = Extract<WorkerReport, { type: 'result' }>;
