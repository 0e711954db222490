import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Connection, PoolClient } from 'pg';
import { type CopyStreamQuery, from as copyFrom } from 'pg-copy-streams';

/**
 * Sends `text` as the data of `sql`, a `COPY ... FROM STDIN`, on a client the caller holds.
 * Rejects with PostgreSQL's error (or pg's query_timeout error) when the COPY fails; the caller
 * then rolls back, which leaves the connection usable, or releases it broken if that fails.
 */
export async function copyIn(client: PoolClient, sql: string, text: string): Promise<void> {
  await pipeline(Readable.from([text]), client.query(keepingConnection(copyFrom(sql))));
}

/**
 * pg-copy-streams 7 forgets its connection (`this.connection = null`) as soon as the COPY fails,
 * by PostgreSQL's ErrorResponse or by pg's query_timeout, yet still writes to it afterwards: the
 * CopyFail of destroy() when the CopyInResponse comes after the timeout, the rest of the data when
 * the socket drains, the CopyDone of _final. Each throws a TypeError from a socket or stream
 * callback, outside any promise, and the process dies (brianc/node-pg-copy-streams #153, #171).
 *
 * So the stream keeps its connection, and those late messages reach PostgreSQL, as the protocol
 * wants: a COPY that PostgreSQL started after the client gave up is ended by the CopyFail (the
 * rollback queued behind it then runs), and once a COPY has ended PostgreSQL ignores CopyData,
 * CopyDone and CopyFail. They are whole messages written in order, so the protocol stream stays
 * in step.
 */
function keepingConnection(stream: CopyStreamQuery): CopyStreamQuery {
  let kept: Connection | null = null;
  Object.defineProperty(stream, 'connection', {
    get: () => kept,
    set: (connection: Connection | null) => {
      if (connection) kept = connection;
    },
  });
  // The stream may report a second error (pg's timeout, then PostgreSQL's answer) after the
  // pipeline has settled and stopped listening; an 'error' event with no listener would throw.
  stream.on('error', () => {});
  return stream;
}
