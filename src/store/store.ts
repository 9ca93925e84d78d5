// TEMPORARY re-export for the files that still import the old store (see legacy.ts); deleted with it.
export { TerminationStore, type HandOffRecord, type Outcome, type Scheduled } from './legacy.js';
