// Skeleton: the desktop client arrives with its issue.
import { generateKey } from '@enigma/crypto';

console.log(`enigma desktop client: not built yet (a fresh chat key would look like ${generateKey().length} characters)`);
