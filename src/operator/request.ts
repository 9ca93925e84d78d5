/** One operator action as asked: which termination, by whom, in their words, when. */
export interface ActionRequest {
  id: number;
  /** Who asked (the request's principal), for the history. */
  by: string | null;
  /** The operator's own words, if any. */
  note: string | null;
  now: number;
}
