// Paging through the audit trail with what the station API has today: newest first, `limit` and a
// `beforeSeq` cursor (keyset paging, so page 27 costs what page 1 costs). A page asks for one row
// more than it shows, to know whether an older page exists. The total of a filtered search is
// known once its last page is reached; the API does not count matches yet (docs/ui-api-needs.md).
import type { AuditEvent, AuditQuery } from './api-types.ts';

export const PAGE_SIZE = 100;

export interface AuditPage {
  query: AuditQuery;
  /** 0 for the newest page. */
  index: number;
  /** The `beforeSeq` that loaded each page up to this one (undefined for the newest). */
  cursors: (number | undefined)[];
  rows: AuditEvent[];
  hasNext: boolean;
}

/** A page from what the station answered to `PAGE_SIZE + 1` rows (or the remote's single answer). */
export function pageAt(
  query: AuditQuery,
  index: number,
  cursors: (number | undefined)[],
  events: AuditEvent[],
  single = false,
): AuditPage {
  if (single) return { query, index: 0, cursors: [undefined], rows: events, hasNext: false };
  return { query, index, cursors, rows: events.slice(0, PAGE_SIZE), hasNext: events.length > PAGE_SIZE };
}

export function firstPage(query: AuditQuery, events: AuditEvent[], single = false): AuditPage {
  return pageAt(query, 0, [undefined], events, single);
}

/** The cursor of the page after `page`: below its oldest row. */
export function nextCursor(page: AuditPage): number | undefined {
  return page.rows.at(-1)?.seq;
}

export function nextPage(page: AuditPage, events: AuditEvent[]): AuditPage {
  return pageAt(page.query, page.index + 1, [...page.cursors.slice(0, page.index + 1), nextCursor(page)], events);
}

/** Where the page before `page` is loaded from. */
export function previousCursors(page: AuditPage): { index: number; cursors: (number | undefined)[] } {
  const index = Math.max(0, page.index - 1);
  return { index, cursors: page.cursors.slice(0, index + 1) };
}

const n = (x: number) => x.toLocaleString('en-US');

/** "Events 101–200 of 2,725", "… of more than 200" while the total is unknown. */
export function pageRange(page: AuditPage, total?: number): string {
  if (page.rows.length === 0) return page.index === 0 ? 'No event matches' : 'No older events';
  const first = page.index * PAGE_SIZE + 1;
  const last = first + page.rows.length - 1;
  const of = total !== undefined ? n(Math.max(total, last)) : page.hasNext ? `more than ${n(last)}` : n(last);
  return `Events ${n(first)}–${n(last)} of ${of}`;
}
