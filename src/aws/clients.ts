/**
 * One SDK client per region and service, created on first use. Credentials, `AWS_ENDPOINT_URL` and the
 * rest come from the standard AWS chain. Timeouts are explicit: a stalled connection must end as an error
 * the worker can retry, not hang a batch forever.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsOptions {
  /** Attempts inside one SDK call (the SDK's own quick retries); the worker retries on top with backoff. */
  maxAttempts: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Credentials for every client instead of the SDK's default chain (tests). */
  credentials?: EC2ClientConfig['credentials'];
}

export const DEFAULT_AWS_OPTIONS: AwsOptions = { maxAttempts: 3, connectTimeoutMs: 3000, requestTimeoutMs: 20_000 };

export class AwsClients {
  private readonly ec2 = new Map<string, EC2Client>();
  private readonly autoScaling = new Map<string, AutoScalingClient>();
  private readonly elbv2 = new Map<string, ElasticLoadBalancingV2Client>();
  private readonly elb = new Map<string, ElasticLoadBalancingClient>();
  private readonly ssm = new Map<string, SSMClient>();

  constructor(private readonly options: AwsOptions = DEFAULT_AWS_OPTIONS) {
    // The SDK warns on Node 20 (only) that its 2027 releases need Node 22: a concern for this project's
    // dependency updates (README, Requirements), not for whoever runs this build. Set it to false to see it.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  }

  /**
   * Resolves credentials as the clients do (the same chain, memoized, tried again after a failure), with
   * no AWS call: for the start-up check and the status (aws/credentials.ts).
   */
  resolveCredentials(): Promise<{ $source?: Record<string, unknown> }> {
    // `$source` is the SDK's record of which provider answered (not in its public type).
    return this.ec2For(process.env.AWS_REGION || 'us-east-1').config.credentials() as Promise<{ $source?: Record<string, unknown> }>;
  }

  private common() {
    return {
      ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      maxAttempts: this.options.maxAttempts,
      // Each command class's middleware stack is resolved once per client, not on every call (~25% of a
      // call's CPU, docs/performance.md). Nothing here adds middleware to a client after it is created.
      cacheMiddleware: true,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: this.options.connectTimeoutMs,
        requestTimeout: this.options.requestTimeoutMs,
        // Without this the SDK only logs a warning and waits on a stalled socket for 15 minutes.
        throwOnRequestTimeout: true,
      }),
    };
  }

  ec2For(region: string): EC2Client {
    return this.client(this.ec2, region, (config) => new EC2Client(config));
  }

  autoScalingFor(region: string): AutoScalingClient {
    return this.client(this.autoScaling, region, (config) => new AutoScalingClient(config));
  }

  /** Application, Network and Gateway Load Balancers (target groups). */
  elbv2For(region: string): ElasticLoadBalancingV2Client {
    return this.client(this.elbv2, region, (config) => new ElasticLoadBalancingV2Client(config));
  }

  /** Classic Load Balancers. */
  elbFor(region: string): ElasticLoadBalancingClient {
    return this.client(this.elb, region, (config) => new ElasticLoadBalancingClient(config));
  }

  /** Systems Manager (the SSM drain's Run Command). */
  ssmFor(region: string): SSMClient {
    return this.client(this.ssm, region, (config) => new SSMClient(config));
  }

  destroy(): void {
    for (const clients of [this.ec2, this.autoScaling, this.elbv2, this.elb, this.ssm]) {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    }
  }

  /** The region's client from `clients`, made on first use. */
  private client<C>(clients: Map<string, C>, region: string, make: (config: { region: string } & ReturnType<AwsClients['common']>) => C): C {
    let client = clients.get(region);
    if (!client) {
      client = make({ region, ...this.common() });
      clients.set(region, client);
    }
    return client;
  }
}
