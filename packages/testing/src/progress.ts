/** Receives the progress of long operations (Maven resolution, broker start). */
export type ProgressListener = (message: string) => void;

/** Default listener: one dim line per message on stderr, so test output stays readable. */
export const printProgress: ProgressListener = (message) => {
  process.stderr.write(`  \u001b[2m› ${message}\u001b[0m\n`);
};

export const silentProgress: ProgressListener = () => {};
