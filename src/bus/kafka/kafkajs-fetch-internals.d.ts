// Type shims for the kafkajs 2.2.4 internal modules src/bus/kafka/fetch-decoder.ts uses (see there why).
// Only what it uses.

declare module 'kafkajs/src/protocol/requests/fetch/index.js' {
  interface FetchResponse {
    decode(raw: Buffer): Promise<unknown>;
    parse(data: unknown): Promise<unknown>;
  }
  interface FetchBuilt {
    request: unknown;
    response: FetchResponse;
    requestTimeout: number;
  }
  type FetchProtocol = (args: Record<string, unknown>) => FetchBuilt;
  const fetch: {
    versions: string[];
    protocol: (v: { version: number }) => FetchProtocol;
  };
  export default fetch;
  export type { FetchBuilt, FetchProtocol, FetchResponse };
}

declare module 'kafkajs/src/protocol/decoder.js' {
  /** kafkajs's read cursor over a response buffer. */
  export default class Decoder {
    constructor(buffer: Buffer);
  }
}

declare module 'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js' {
  import type Decoder from 'kafkajs/src/protocol/decoder.js';
  /** Reads an int32 size and the record set (record batches or a legacy message set) after it. */
  export default function decodeMessages(decoder: Decoder): Promise<unknown[]>;
}

declare module 'kafkajs/src/protocol/requests/fetch/v11/response.js' {
  /** kafkajs's own Fetch v11 response decoder (the reference the tests compare fetch-decoder.ts with). */
  const response: { decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
  export default response;
}
