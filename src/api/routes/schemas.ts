/** Response schemas shared by the operator routes (and so by the OpenAPI document). */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'a stable code, e.g. not_found, invalid_state, unauthorized' },
    message: { type: 'string', description: 'what is wrong and how to fix it' },
  },
} as const;

export const CONFLICT_SCHEMA = {
  type: 'object',
  required: ['error', 'message', 'state'],
  properties: {
    error: { type: 'string', enum: ['conflict'] },
    message: { type: 'string' },
    state: { type: 'string', description: 'the termination’s current state' },
  },
} as const;
