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
    let client = this.ec2.get(region);
    if (!client) {
      client = new EC2Client({ region, ...this.common() });
      this.ec2.set(region, client);
    }
    return client;
  }

  autoScalingFor(region: string): AutoScalingClient {
    let client = this.autoScaling.get(region);
    if (!client) {
      client = new AutoScalingClient({ region, ...this.common() });
      this.autoScaling.set(region, client);
    }
    return client;
  }

  /** Application, Network and Gateway Load Balancers (target groups). */
  elbv2For(region: string): ElasticLoadBalancingV2Client {
    let client = this.elbv2.get(region);
    if (!client) {
      client = new ElasticLoadBalancingV2Client({ region, ...this.common() });
      this.elbv2.set(region, client);
    }
    return client;
  }

  /** Classic Load Balancers. */
  elbFor(region: string): ElasticLoadBalancingClient {
    let client = this.elb.get(region);
    if (!client) {
      client = new ElasticLoadBalancingClient({ region, ...this.common() });
      this.elb.set(region, client);
    }
    return client;
  }

  /** Systems Manager (the SSM drain's Run Command). */
  ssmFor(region: string): SSMClient {
    let client = this.ssm.get(region);
    if (!client) {
      client = new SSMClient({ region, ...this.common() });
      this.ssm.set(region, client);
    }
    return client;
  }

  destroy(): void {
    for (const c of this.ec2.values()) c.destroy();
    this.ec2.clear();
    for (const c of this.autoScaling.values()) c.destroy();
    this.autoScaling.clear();
    for (const c of this.elbv2.values()) c.destroy();
    this.elbv2.clear();
    for (const c of this.elb.values()) c.destroy();
    this.elb.clear();
    for (const c of this.ssm.values()) c.destroy();
    this.ssm.clear();
  }
}
