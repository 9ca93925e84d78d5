// A HandOffRecord (what the store records for one hand-off document) with neutral defaults: us-east-1,
// no project, component, address or user data, due and first looked at at `at`, straight to terminate.
import type { HandOffRecord } from '../../src/store/ports.js';

export function handOffRecord(instanceIds: string[], at: number, over: Partial<HandOffRecord> = {}): HandOffRecord {
  return {
    region: 'us-east-1',
    instanceIds,
    ipAddress: null,
    project: null,
    component: null,
    userData: null,
    requestedBy: null,
    sourceIp: null,
    userAgent: null,
    dueAt: at,
    firstStep: 'terminate',
    firstAttemptAt: at,
    ...over,
  };
}
