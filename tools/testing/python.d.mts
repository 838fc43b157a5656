export function findPython(modules: string[]): { python: string } | { python: undefined; reason: string };
export function pythonOrSkip(modules: string[]): string | undefined;
