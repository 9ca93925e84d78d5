/** The shapes of EC2 names that the API accepts. Pure checks, no I/O. */

/** `i-` then 8 (older instances) or 17 lower-case hex digits. */
export const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * AWS region names: `us-east-1`, `eu-central-2`, `ap-southeast-4`, `us-gov-west-1`, `cn-north-1`,
 * `us-isob-east-1`, `eu-isoe-west-1`, `il-central-1`, `mx-central-1`. A partition-ish prefix of two letters,
 * optionally an isolated or government part, a direction, a number.
 */
export const REGION = /^[a-z]{2}(?:-(?:gov|iso[a-z]?))?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$/;

export const DEFAULT_REGION = 'us-east-1';

export const isInstanceId = (value: string): boolean => INSTANCE_ID.test(value);
export const isRegion = (value: string): boolean => REGION.test(value);
