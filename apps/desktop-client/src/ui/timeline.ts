import type { ChatLine } from '../shared/bridge-protocol.js';

export type TimelineItem =
  | { kind: 'message'; line: ChatLine }
  | { kind: 'joined' | 'left'; username: string; ts: number }
  | { kind: 'notice'; text: string; noticeKind: string; ts: number }
  | { kind: 'pruned'; missed: boolean; ts: number };

/** As many items as the host keeps lines (`MAX_LINES` in desktop-session.ts): older ones fall off the top. */
export const MAX_TIMELINE_ITEMS = 2000;

/**
 * Adds an item to the timeline the user sees. A presence change right after
 * another one of the same user replaces it (someone reconnecting in a loop
 * shows as one line, not hundreds), a message already shown is not shown
 * twice, and the timeline never grows past `MAX_TIMELINE_ITEMS`.
 */
export function appendToTimeline(items: readonly TimelineItem[], item: TimelineItem): TimelineItem[] {
  if (item.kind === 'message' && items.some((i) => i.kind === 'message' && i.line.id === item.line.id)) return items as TimelineItem[];
  const last = items.at(-1);
  const isPresence = (i: TimelineItem | undefined): i is Extract<TimelineItem, { kind: 'joined' | 'left' }> => i?.kind === 'joined' || i?.kind === 'left';
  // Paging back to the retention cut says so each time: one line is enough.
  const repeatsPruned = item.kind === 'pruned' && items.some((i) => i.kind === 'pruned' && i.missed === item.missed);
  if (repeatsPruned) return items as TimelineItem[];
  const replacesLast = isPresence(item) && isPresence(last) && last.username === item.username;
  const next = replacesLast ? [...items.slice(0, -1), item] : [...items, item];
  return next.length > MAX_TIMELINE_ITEMS ? next.slice(next.length - MAX_TIMELINE_ITEMS) : next;
}
