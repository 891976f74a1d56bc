/**
 * A process stops within `ms` of SIGTERM or SIGINT, whatever its peers do. The orderly close
 * (Nest's shutdown hooks: stop taking work, let running jobs finish, close connections) runs
 * first; a close that hangs on a peer gone away (a node that never answers, a database that is
 * down) is cut off here, and whatever was held goes back by its lease or lock.
 */
export function exitWithin(ms: number, name: string): void {
  const arm = (signal: NodeJS.Signals) => {
    setTimeout(() => {
      console.error(`${name}: still stopping ${ms} ms after ${signal}; exiting`);
      process.exit(1);
    }, ms).unref();
  };
  process.once('SIGTERM', arm);
  process.once('SIGINT', arm);
}
