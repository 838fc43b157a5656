import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientEventNames, clientEvents } from './client-events.js';
import { ClientEvent } from './events.js';

// docs/protocol.md's "Client → server" table is what other clients are
// written from: its rows and the event table must name the same events and
// the same replies, whichever side gains one first.
const protocolDoc = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

function documentedEvents(): Map<string, string[]> {
  const text = readFileSync(protocolDoc, 'utf8');
  const section = text.split(/^## /m).find((part) => part.startsWith('Client → server'));
  if (section === undefined) throw new Error('docs/protocol.md has no "## Client → server" section');
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // | `EVENT` | payload | replies |  (header and separator rows have no backticked first cell)
    const name = /^`([A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined) continue;
    const replies = [...(cells[3] ?? '').matchAll(/`([A-Z][A-Z_]+)[` ]/g)].map((match) => match[1]!);
    rows.set(name, replies);
  }
  return rows;
}

describe('clientEvents (the event table)', () => {
  const documented = documentedEvents();

  it('names exactly the events docs/protocol.md documents, in both directions', () => {
    expect(documented.size).toBeGreaterThan(0);
    expect([...clientEventNames].sort()).toEqual([...documented.keys()].sort());
  });

  it('lists for each event exactly the replies docs/protocol.md documents', () => {
    for (const event of clientEventNames) {
      expect({ event, replies: [...clientEvents[event].replies].sort() }).toEqual({ event, replies: [...new Set(documented.get(event))].sort() });
    }
  });

  it('can answer what the dispatcher answers: the malformed reply, and NOT_LOGGED_IN where a session is needed', () => {
    for (const event of clientEventNames) {
      const spec = clientEvents[event];
      const replies: readonly string[] = spec.replies;
      expect({ event, malformed: replies.includes(spec.malformed) }).toEqual({ event, malformed: true });
      expect({ event, notLoggedIn: replies.includes('NOT_LOGGED_IN') }).toEqual({ event, notLoggedIn: spec.session });
    }
  });

  it('keeps v1 ClientEvent constants naming every event of the table', () => {
    expect(Object.values(ClientEvent).sort()).toEqual([...clientEventNames].sort());
  });
});
