// dynalite ships no types; this is the part of its server API the local cloud uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Milliseconds a table stays CREATING; 0 makes it ACTIVE at once. */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** A LevelDB directory; without it the tables live in memory. */
    path?: string;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
