/** JSON logs through pino. One root logger per process; components take children with `component`. */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

let root: Logger = pino({
  level: process.env.SLUICE_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export function setLogLevel(level: LevelWithSilent): void {
  root.level = level;
}

/** Replace the root logger (tests pass a silent one, the CLI one writing to stderr). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...bindings });
}
