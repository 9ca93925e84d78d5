// The AWS SDK's own CPU per call, as the service's clients make them (src/aws/clients.ts), next to the
// SDK's defaults: what one call costs the service before any response parsing (docs/performance.md).
//
//   node --import tsx bench/aws-calls.ts [--blocks N]     the fixed cost of a call
//   node --import tsx bench/aws-calls.ts --moto [--calls N] the pipeline's reads against moto, with its fleet
//
// Default: a canned ELBv2 DescribeTargetGroups answer (one target group, ~0.4 KiB) from a plain node:http
// server in a child process (its CPU is not counted), once keeping connections alive as AWS does, once
// closing each one as moto does (`Connection: close`). The variants take turns in blocks of 50 calls, so a
// busy machine slows them alike; the figure is this process's CPU (user + system) per call.
// --moto: the pipeline bench's fleet (two groups of 150 in their target groups, all 300 in one classic ELB)
// and the read calls its steps make, through src/aws/, each repeated: what an answer's size costs.
import { spawn } from 'node:child_process';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { parseArgs } from 'node:util';
import { describeAsgMembership, describeGroupLoadBalancers } from '../src/aws/autoscaling.js';
import { AwsClients, DEFAULT_AWS_OPTIONS } from '../src/aws/clients.js';
import { describeClassicHealth, describeTargetHealth, listClassicLoadBalancers, listInstanceTargetGroups } from '../src/aws/elb.js';
import { describeInstanceRecords } from '../src/aws/instances.js';
import { awsTestEnv, startMoto } from '../test/helpers/moto.js';
import { createFleet } from './lib/fleet.js';

const BODY =
  '<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetGroupsResult><TargetGroups><member>' +
  '<TargetGroupArn>arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef</TargetGroupArn><TargetType>instance</TargetType>' +
  '</member></TargetGroups></DescribeTargetGroupsResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></DescribeTargetGroupsResponse>';
const SERVER = `
const body = process.argv[1], close = process.argv[2] === 'close';
const s = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), ...(close ? { connection: 'close' } : {}) }).end(body));
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const BLOCK = 50;
const WARM_UP = 5;

async function cannedServer(close: boolean): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['-e', SERVER, BODY, close ? 'close' : 'keep'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/** The SDK with the service's options but its own default of resolving the middleware stack on every call. */
function sdkDefaultClient(): ElasticLoadBalancingV2Client {
  const o = DEFAULT_AWS_OPTIONS;
  return new ElasticLoadBalancingV2Client({
    region: 'us-east-1',
    maxAttempts: o.maxAttempts,
    requestHandler: new NodeHttpHandler({ connectionTimeout: o.connectTimeoutMs, requestTimeout: o.requestTimeoutMs, throwOnRequestTimeout: true }),
  });
}

/** Each read call of the pipeline's steps against moto, with the answer sizes of the pipeline's fleet. */
async function againstMoto(calls: number): Promise<void> {
  const moto = await startMoto();
  if (!moto) throw new Error('moto_server is not on PATH');
  try {
    Object.assign(process.env, awsTestEnv(moto.endpoint));
    const fleet = await createFleet(moto.endpoint, 'us-east-1', 2, 150);
    const clients = new AwsClients({ ...DEFAULT_AWS_OPTIONS, maxAttempts: 1 });
    const ids = fleet.instances;
    const [arn] = await listInstanceTargetGroups(clients.elbv2For('us-east-1'));
    const reads: [string, () => Promise<unknown>][] = [
      ['DescribeInstances, 1 id', () => describeInstanceRecords(clients.ec2For('us-east-1'), ids.slice(0, 1))],
      ['DescribeInstances, 100 ids', () => describeInstanceRecords(clients.ec2For('us-east-1'), ids.slice(0, 100))],
      ['DescribeAutoScalingInstances, 50 ids', () => describeAsgMembership(clients.autoScalingFor('us-east-1'), ids.slice(0, 50))],
      ['DescribeAutoScalingGroups, 2 groups of 150', () => describeGroupLoadBalancers(clients.autoScalingFor('us-east-1'), fleet.groups.map((g) => g.name))],
      ['DescribeTargetGroups, 2', () => listInstanceTargetGroups(clients.elbv2For('us-east-1'))],
      ['DescribeTargetHealth, a group of 150', () => describeTargetHealth(clients.elbv2For('us-east-1'), arn!)],
      ['DescribeLoadBalancers, 1 of 300 instances', () => listClassicLoadBalancers(clients.elbFor('us-east-1'))],
      ['DescribeInstanceHealth, 100 ids', () => describeClassicHealth(clients.elbFor('us-east-1'), fleet.classicName, ids.slice(0, 100))],
    ];
    console.log(`CPU per call against moto (ms, this process's user + system; ${calls} calls each, after ${WARM_UP} of every one unmeasured):`);
    for (const [, read] of reads) for (let i = 0; i < WARM_UP; i++) await read(); // the SDK's code compiled for all of them first
    for (const [name, read] of reads) {
      const t = process.cpuUsage();
      for (let i = 0; i < calls; i++) await read();
      const used = process.cpuUsage(t);
      console.log(`  ${name.padEnd(44)} ${((used.user + used.system) / 1000 / calls).toFixed(2).padStart(6)} ms`);
    }
    clients.destroy();
  } finally {
    await moto.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { blocks: { type: 'string' }, moto: { type: 'boolean' }, calls: { type: 'string' } } });
  if (values.moto) return againstMoto(Number(values.calls ?? 10));
  const blocks = Number(values.blocks ?? 20);
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  console.log(`SDK CPU per DescribeTargetGroups call (µs, this process's user + system), ${blocks} blocks of ${BLOCK} calls per variant, taking turns:`);
  const servers = [await cannedServer(false), await cannedServer(true)];
  const variants: { name: string; client: ElasticLoadBalancingV2Client; stop(): void }[] = [];
  for (const [i, server] of servers.entries()) {
    const where = i === 0 ? 'kept-alive connections (AWS)' : 'a connection per call (moto)';
    process.env.AWS_ENDPOINT_URL = server.url; // read when a client is created, as the benchmarks point the service at moto
    const sdk = sdkDefaultClient();
    const service = new AwsClients();
    variants.push({ name: `${where}  the SDK defaults`, client: sdk, stop: () => sdk.destroy() });
    variants.push({ name: `${where}  as the service makes them`, client: service.elbv2For('us-east-1'), stop: () => service.destroy() });
  }
  const call = (c: ElasticLoadBalancingV2Client) => c.send(new DescribeTargetGroupsCommand({ PageSize: 400 }));
  for (const v of variants) for (let i = 0; i < BLOCK; i++) await call(v.client); // warm-up
  const cpu = variants.map(() => 0);
  for (let b = 0; b < blocks; b++) {
    for (const [i, v] of variants.entries()) {
      const t = process.cpuUsage();
      for (let k = 0; k < BLOCK; k++) await call(v.client);
      const used = process.cpuUsage(t);
      cpu[i]! += used.user + used.system;
    }
  }
  for (const [i, v] of variants.entries()) console.log(`  ${v.name.padEnd(58)} ${(cpu[i]! / (blocks * BLOCK)).toFixed(0).padStart(6)} µs`);
  for (const v of variants) v.stop();
  for (const s of servers) s.stop();
}

await main();
