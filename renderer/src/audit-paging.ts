// Paging through the audit trail: newest first, `limit` and a `beforeSeq` cursor (keyset paging, so
// page 27 costs what page 1 costs). The station answers each page with the total of the search
// and the cursor of the next page (queryAuditPage); the remote core answers one list.
import type { AuditEvent, AuditPageAnswer, AuditSearch } from './api-types.ts';

export const PAGE_SIZE = 100;

export interface AuditPage {
  query: AuditSearch;
  /** 0 for the newest page. */
  index: number;
  /** The `beforeSeq` that loaded each page up to this one (undefined for the newest). */
  cursors: (number | undefined)[];
  rows: AuditEvent[];
  hasNext: boolean;
  /** Every event the search matches (the station counts them); undefined for the remote's list. */
  total?: number;
}

/** A page from the station's answer. */
export function stationPage(
  query: AuditSearch,
  index: number,
  cursors: (number | undefined)[],
  answer: AuditPageAnswer,
): AuditPage {
  return { query, index, cursors, rows: answer.events, hasNext: answer.nextBeforeSeq !== undefined, total: answer.total };
}

/** The remote core's single answer: one page, no total. */
export function firstPage(query: AuditSearch, events: AuditEvent[], _single = true): AuditPage {
  return { query, index: 0, cursors: [undefined], rows: events, hasNext: false };
}

/** The cursor of the page after `page`: below its oldest row. */
export function nextCursor(page: AuditPage): number | undefined {
  return page.rows.at(-1)?.seq;
}

/** Where the page before `page` is loaded from. */
export function previousCursors(page: AuditPage): { index: number; cursors: (number | undefined)[] } {
  const index = Math.max(0, page.index - 1);
  return { index, cursors: page.cursors.slice(0, index + 1) };
}

const n = (x: number) => x.toLocaleString('en-US');

/** "Events 101–200 of 2,725", "… of more than 200" while the total is unknown. */
export function pageRange(page: AuditPage, total = page.total): string {
  if (page.rows.length === 0) return page.index === 0 ? 'No event matches' : 'No older events';
  const first = page.index * PAGE_SIZE + 1;
  const last = first + page.rows.length - 1;
  const of = total !== undefined ? n(Math.max(total, last)) : page.hasNext ? `more than ${n(last)}` : n(last);
  return `Events ${n(first)}–${n(last)} of ${of}`;
}
