/** The scripts' reading of a layout and of question types: `parseLayout` and `parseTypes`, with a bad flag printed as one line and exit code 2. */
import { LayoutError, parseLayout, parseTypes, type Layout, type QuestionType } from '../src/index.js';

export function layoutOrExit(objects: string | undefined, sizes: string | undefined): Layout {
  return orExit(() => parseLayout(objects, sizes));
}

export function typesOrExit(types: string | undefined): readonly QuestionType[] {
  return orExit(() => parseTypes(types));
}

function orExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof LayoutError)) throw e;
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
}
