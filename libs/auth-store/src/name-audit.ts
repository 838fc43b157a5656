import { nameSkeleton } from './names.js';
import { normalizeUsername } from './policy.js';
import type { PublicUser } from './user-store.js';

export interface NameAudit {
  /** Names today's rules would refuse (mixed scripts, invisible characters, …), with the reason. */
  refused: Array<{ user: PublicUser; reason: string }>;
  /** Groups of two or more users whose names look alike (one TR39 skeleton, case-insensitively). */
  lookalikes: PublicUser[][];
}

/**
 * Checks existing names against today's rules, with the current confusable
 * table. Changes nothing: names registered before the rules (or before a
 * newer Unicode table) are for the operator to judge (console: `names`).
 */
export function auditUsernames(users: readonly PublicUser[]): NameAudit {
  const refused: NameAudit['refused'] = [];
  const bySkeleton = new Map<string, PublicUser[]>();
  for (const user of users) {
    const check = normalizeUsername(user.username);
    if (!check.ok) refused.push({ user, reason: check.reason });
    else if (check.username !== user.username) refused.push({ user, reason: 'the name is not in NFC form' });
    const skeleton = check.ok ? check.skeleton : nameSkeleton(user.username);
    const group = bySkeleton.get(skeleton);
    if (group === undefined) bySkeleton.set(skeleton, [user]);
    else group.push(user);
  }
  return { refused, lookalikes: [...bySkeleton.values()].filter((group) => group.length > 1) };
}
