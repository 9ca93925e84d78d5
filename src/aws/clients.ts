/**
 * One SDK client per region and service, created on first use. Credentials, `AWS_ENDPOINT_URL` and the
 * rest come from the standard AWS chain. Timeouts are explicit: a stalled connection must end as an error
 * the worker can retry, not hang a batch forever.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsOptions {
  /** Attempts inside one SDK call (the SDK's own quick retries); the worker retries on top with backoff. */
  maxAttempts: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_AWS_OPTIONS: AwsOptions = { maxAttempts: 3, connectTimeoutMs: 3000, requestTimeoutMs: 20_000 };

export class AwsClients {
  private readonly ec2 = new Map<string, EC2Client>();

  constructor(private readonly options: AwsOptions = DEFAULT_AWS_OPTIONS) {
    // This release runs on Node 20 on purpose; the SDK's yearly "upgrade Node" notice is noise in logs.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  }

  private common() {
    return {
      maxAttempts: this.options.maxAttempts,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: this.options.connectTimeoutMs,
        requestTimeout: this.options.requestTimeoutMs,
        // Without this the SDK only logs a warning and waits on a stalled socket for 15 minutes.
        throwOnRequestTimeout: true,
      }),
    };
  }

  ec2For(region: string): EC2Client {
    let client = this.ec2.get(region);
    if (!client) {
      client = new EC2Client({ region, ...this.common() });
      this.ec2.set(region, client);
    }
    return client;
  }

  destroy(): void {
    for (const c of this.ec2.values()) c.destroy();
    this.ec2.clear();
  }
}
