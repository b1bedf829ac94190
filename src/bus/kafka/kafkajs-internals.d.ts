// Type shims for the kafkajs 2.2.4 internal modules src/bus/kafka/produce-request.ts and pipeline.ts use (see there why).
// Only what it uses.

declare module 'kafkajs/src/protocol/requests/produce/index.js' {
  interface ProduceProtocolArgs {
    acks: number;
    timeout: number;
    compression: number;
    transactionalId?: string | null;
    producerId?: unknown;
    producerEpoch?: number;
    topicData: Array<{
      topic: string;
      partitions: Array<{ partition: number; firstSequence?: number; messages: unknown[] }>;
    }>;
  }
  interface ProduceRequest {
    apiKey: number;
    apiVersion: number;
    apiName: string;
    expectResponse: () => boolean;
    encode: () => Promise<unknown>;
  }
  interface ProduceResponse {
    decode(raw: Buffer): Promise<unknown>;
    parse(data: unknown): Promise<unknown>;
  }
  type ProduceProtocol = (args: ProduceProtocolArgs) => { request: ProduceRequest; response: ProduceResponse };
  const produce: {
    versions: string[];
    protocol: (v: { version: number }) => ProduceProtocol;
  };
  export default produce;
  export type { ProduceProtocol, ProduceProtocolArgs, ProduceRequest, ProduceResponse };
}

declare module 'kafkajs/src/protocol/encoder.js' {
  /** kafkajs's growable write buffer; a request's encode() must return one. */
  export default class Encoder {
    constructor(initialSize?: number);
    buf: Buffer;
    offset: number;
    readonly buffer: Buffer;
    size(): number;
  }
}

declare module 'kafkajs/src/protocol/error.js' {
  interface ErrorCode {
    type: string;
    code: number;
    retriable: boolean;
    message: string;
  }
  /** Kafka's error codes as kafkajs knows them. */
  export const errorCodes: ErrorCode[];
  /** A KafkaJSProtocolError (type, code, retriable) for a Kafka error code. */
  export function createErrorFromCode(code: number): Error & { type: string; code: number; retriable: boolean };
}
