// TEMPORARY re-export for the files that still import the old store (see legacy.ts); deleted with it.
export { saveStepData, type HistoryMark, type StepDataEntry } from './legacy.js';
