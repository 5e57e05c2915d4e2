/**
 * The scripts' reading of a layout, of question types and of a description's order: `parseLayout`
 * and `parseTypes`, and `--by color|shape` (describe.ts), with a bad flag printed as one line and
 * exit code 2.
 */
import { DESCRIBE_QUESTIONS, LayoutError, parseLayout, parseTypes, type DescribeOrder, type Layout, type QuestionType } from '../src/index.js';

export function layoutOrExit(objects: string | undefined, sizes: string | undefined): Layout {
  return orExit(() => parseLayout(objects, sizes));
}

export function typesOrExit(types: string | undefined): readonly QuestionType[] {
  return orExit(() => parseTypes(types));
}

export function describeOrderOrExit(by: string): DescribeOrder {
  if (Object.hasOwn(DESCRIBE_QUESTIONS, by)) return by as DescribeOrder;
  console.error(`error: --by must be ${Object.keys(DESCRIBE_QUESTIONS).join(' or ')}, not ${JSON.stringify(by)}`);
  process.exit(2);
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
