// Paging through the audit trail: newest first, `limit` and a `beforeSeq` cursor (keyset paging, so
// page 27 costs what page 1 costs). The station answers each page with the total of the search
// and the cursor of the next page (queryAuditPage); the remote core answers a page and an opaque
// cursor, without a total (queryRemoteAuditPage).
import type { AuditEvent, AuditPageAnswer, AuditSearch } from './api-types.ts';

export const PAGE_SIZE = 100;

export interface AuditPage {
  query: AuditSearch;
  /** 0 for the newest page. */
  index: number;
  /** The cursor that loaded each page up to this one (undefined for the newest): a seq, or the remote's. */
  cursors: PageCursor[];
  rows: AuditEvent[];
  hasNext: boolean;
  /** The cursor of the next (older) page. */
  next?: number | string;
  /** Every event the search matches (the station counts them); undefined for the remote's pages. */
  total?: number;
  /** `total` is a lower bound (a broad find is counted up to a cap). */
  totalCapped?: boolean;
}

export type PageCursor = number | string | undefined;

/** A page from the station's answer. */
export function stationPage(query: AuditSearch, index: number, cursors: PageCursor[], answer: AuditPageAnswer): AuditPage {
  const { events, nextBeforeSeq, total, totalCapped } = answer;
  return { query, index, cursors, rows: events, hasNext: nextBeforeSeq !== undefined, next: nextBeforeSeq, total, totalCapped };
}

/** A page of the remote core's central audit: its opaque cursor, no total. */
export function remotePage(
  query: AuditSearch,
  index: number,
  cursors: PageCursor[],
  answer: { events: AuditEvent[]; nextCursor?: string },
): AuditPage {
  return { query, index, cursors, rows: answer.events, hasNext: answer.nextCursor !== undefined, next: answer.nextCursor };
}

/** The cursor of the page after `page`. */
export function nextCursor(page: AuditPage): PageCursor {
  return page.next;
}

/** Where the page before `page` is loaded from. */
export function previousCursors(page: AuditPage): { index: number; cursors: PageCursor[] } {
  const index = Math.max(0, page.index - 1);
  return { index, cursors: page.cursors.slice(0, index + 1) };
}

const n = (x: number) => x.toLocaleString('en-US');

/** "Events 101–200 of 2,725", "… of more than 200" while the total is unknown, "… of at least 100,000" when capped. */
export function pageRange(page: AuditPage, total = page.total): string {
  if (page.rows.length === 0) return page.index === 0 ? 'No event matches' : 'No older events';
  const first = page.index * PAGE_SIZE + 1;
  const last = first + page.rows.length - 1;
  const known = total !== undefined ? n(Math.max(total, last)) : undefined;
  const of =
    known !== undefined ? `${page.totalCapped ? 'at least ' : ''}${known}` : page.hasNext ? `more than ${n(last)}` : n(last);
  return `Events ${n(first)}–${n(last)} of ${of}`;
}
