/**
 * How many rows or ids one statement takes at most, well under the engines' bound-parameter limits
 * (SQLite 32,766, PostgreSQL 65,535): a terminations row binds 19 values, an id list one per id.
 */
export const ROWS_PER_INSERT = 500;
export const IDS_PER_STATEMENT = 900;
