/**
 * The listing's cursor: opaque to clients, it carries the previous page's last row in the page's order.
 * `order=id` keeps its first form (`v1:<id>`) so cursors given out before the other orders stay valid.
 */
import type { ListOrder, ListQuery, ListedRow } from '../../store/ports.js';
import { HttpError } from '../errors.js';

export function encodeCursor(id: number): string {
  return Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
}

/** The cursor after `row` in `order`. */
export function cursorAfter(order: ListOrder, row: ListedRow): string {
  if (order === 'id') return encodeCursor(row.id);
  const at = order === 'due' ? row.due_at : row.updated_at;
  return Buffer.from(`v1:${order}:${at}:${row.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, order: ListOrder = 'id'): NonNullable<ListQuery['after']> {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const byId = /^v1:(\d{1,15})$/.exec(text);
  if (byId && order === 'id') return { id: Number(byId[1]) };
  const keyed = /^v1:(due|ended):(-?\d{1,16}):(\d{1,15})$/.exec(text);
  if (keyed && keyed[1] === order) return { at: Number(keyed[2]), id: Number(keyed[3]) };
  throw new HttpError(
    400,
    'invalid_cursor',
    byId || keyed
      ? `the cursor belongs to another order than order=${order}: pass the same order (and filters) as for the previous page`
      : 'the cursor is not one this server gave out: pass the `next` value of the previous page unchanged, or leave it out for the first page',
  );
}
