/** The scripts' reading of a layout: `parseLayout`, with a bad flag printed as one line and exit code 2. */
import { LayoutError, parseLayout, type Layout } from '../src/index.js';

export function layoutOrExit(objects: string | undefined, sizes: string | undefined): Layout {
  try {
    return parseLayout(objects, sizes);
  } catch (e) {
    if (!(e instanceof LayoutError)) throw e;
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
}
