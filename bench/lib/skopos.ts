// The hand-off document every load generator of the benchmarks sends: the full document of the Skopos
// ec2-asg plugin, one instance per request, as users run it (README: the hand-off API), not the two-field
// minimum. `user_data` is a small, realistic object (what a Skopos environment file passes through:
// labels, a build, a cloud-config string), ~0.4 KiB serialized, far under the 16 KiB limit; it sets no
// `ddsrv` key, so it changes no policy.
export const SKOPOS_PROJECT = 'shop';
export const SKOPOS_COMPONENT = 'web';

const USER_DATA = {
  environment: 'production',
  team: 'storefront',
  release: '2026.11.3',
  build: { commit: '9f2c1e4b7a0d53e8', pipeline: 4711, image: 'registry.example.com/shop/web:2026.11.3' },
  features: ['checkout-v2', 'search-cache'],
  cloud_config: '#cloud-config\npackages:\n  - nginx\nruncmd:\n  - systemctl enable --now shop-web\n',
};
const USER_DATA_JSON = JSON.stringify(USER_DATA);

/** A private address for the n-th instance of a run (10.0.0.0/8; informational for the service, never dialled). */
export function privateIp(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** The JSON text of one instance's hand-off, the same for every server under test. */
export function skoposDocument(instanceId: string, ipAddress: string, region = 'us-east-1'): string {
  return (
    `{"ec2_instance_id":"${instanceId}","ec2_region":"${region}","ip_address":"${ipAddress}",` +
    `"project":"${SKOPOS_PROJECT}","component":"${SKOPOS_COMPONENT}","user_data":${USER_DATA_JSON}}`
  );
}
