import type { ChatLine } from '../shared/bridge-protocol.js';

export type TimelineItem =
  | { kind: 'message'; line: ChatLine }
  | { kind: 'joined' | 'left'; username: string; ts: number }
  | { kind: 'notice'; text: string; noticeKind: string; ts: number };

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
  const replacesLast = item.kind !== 'message' && item.kind !== 'notice' && last !== undefined && (last.kind === 'joined' || last.kind === 'left') && last.username === item.username;
  const next = replacesLast ? [...items.slice(0, -1), item] : [...items, item];
  return next.length > MAX_TIMELINE_ITEMS ? next.slice(next.length - MAX_TIMELINE_ITEMS) : next;
}
