import { describe, expect, it } from '@jest/globals';
import { appendToTimeline, MAX_TIMELINE_ITEMS, type TimelineItem } from './timeline.js';

const message = (n: number): TimelineItem => ({
  kind: 'message',
  line: { id: `id-${n}`, seq: n, from: 'алиса', ts: n, text: `сообщение ${n}`, locked: false, own: false },
});

describe(appendToTimeline, () => {
  it('should show someone who reconnects in a loop as one line, not one per join and leave', () => {
    let timeline: TimelineItem[] = [message(1)];
    for (let cycle = 0; cycle < 200; cycle++) {
      timeline = appendToTimeline(timeline, { kind: 'left', username: 'flapper', ts: 2 * cycle });
      timeline = appendToTimeline(timeline, { kind: 'joined', username: 'flapper', ts: 2 * cycle + 1 });
    }
    expect(timeline).toEqual([message(1), { kind: 'joined', username: 'flapper', ts: 399 }]);
  });

  it('should keep presence lines of different people, and lines separated by a message', () => {
    let timeline: TimelineItem[] = [];
    timeline = appendToTimeline(timeline, { kind: 'joined', username: 'борис', ts: 1 });
    timeline = appendToTimeline(timeline, { kind: 'joined', username: 'ева', ts: 2 });
    timeline = appendToTimeline(timeline, message(3));
    timeline = appendToTimeline(timeline, { kind: 'left', username: 'ева', ts: 4 });
    expect(timeline.map((item) => item.kind)).toEqual(['joined', 'joined', 'message', 'left']);
  });

  it('should never grow past its bound, dropping the oldest items, and never show a message twice', () => {
    let timeline: TimelineItem[] = [];
    for (let n = 1; n <= MAX_TIMELINE_ITEMS + 500; n++) timeline = appendToTimeline(timeline, message(n));
    timeline = appendToTimeline(timeline, message(MAX_TIMELINE_ITEMS + 500));
    expect(timeline).toHaveLength(MAX_TIMELINE_ITEMS);
    expect(timeline[0]).toEqual(message(501));
    expect(timeline.at(-1)).toEqual(message(MAX_TIMELINE_ITEMS + 500));
  });

  it('should say once that retention removed older messages, however often paging back reaches the cut', () => {
    let timeline: TimelineItem[] = [];
    timeline = appendToTimeline(timeline, { kind: 'pruned', missed: false, ts: 1 });
    timeline = appendToTimeline(timeline, message(2));
    timeline = appendToTimeline(timeline, { kind: 'pruned', missed: false, ts: 3 });
    timeline = appendToTimeline(timeline, { kind: 'joined', username: 'ева', ts: 4 });
    timeline = appendToTimeline(timeline, { kind: 'pruned', missed: true, ts: 5 });
    expect(timeline.map((item) => item.kind)).toEqual(['pruned', 'message', 'joined', 'pruned']);
  });
});
