// Skeleton: the server arrives with its issue.
import { DEFAULT_LIMITS } from '@enigma/protocol';

console.log(`enigma server: not built yet (frame limit ${DEFAULT_LIMITS.maxFrameLength})`);
