export interface FaultProxy {
  readonly port: number;
  readonly connections: number;
  dropRandom(random?: () => number): boolean;
  freezeAll(): void;
  goOffline(): void;
  restore(): void;
  close(): Promise<void>;
}
export function startFaultProxy(targetPort: number): Promise<FaultProxy>;
