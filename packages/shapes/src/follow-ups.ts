/**
 * Follow-up questions: more turns about a record's scene, as LLaVA's instruction data asks several
 * questions about one image. A training record with K turns teaches K answers for one pass of the
 * vision tower and one prefix of vision tokens, so it gives several times the supervision per
 * step of compute that a single question does (the image is 144 of the ~155 tokens).
 *
 * The first turn is the record's own balanced question (generate.ts); follow-ups are drawn from
 * every question the scene can answer (`allQuestions` filtered by the oracle). Left to chance
 * they would lean hard on the scene's statistics (most "Is there a red circle?" questions are
 * "no"), so each is drawn in three steps: a question type uniformly among the types the scene can
 * still answer, then an answer uniformly among that type's answers, then a question with that
 * answer. Only answers a first turn can have are asked (no count above MAX_COUNT), so the
 * vocabulary stays that of the task. Evaluation sets keep one turn: their balance is what makes a blind model score chance.
 */
import { ANSWERS, QUESTION_TYPES, allQuestions, answer, questionText, type Question, type QuestionType } from './questions.js';
import { pick, type Rng, type Scene } from './scene.js';

export interface Turn {
  type: QuestionType;
  question: Question;
  text: string;
  answer: string;
}

/** Up to `count` distinct questions of `types` about `scene` other than `first`, with their answers. */
export function followUps(rng: Rng, scene: Scene, first: Question, count: number, types: readonly QuestionType[] = QUESTION_TYPES): Turn[] {
  const asked = questionText(first);
  const open: Turn[] = [];
  for (const question of allQuestions().filter((q) => types.includes(q.type))) {
    const text = questionText(question);
    const reply = answer(scene, question);
    if (reply !== undefined && ANSWERS[question.type].includes(reply) && text !== asked) open.push({ type: question.type, question, text, answer: reply });
  }
  const turns: Turn[] = [];
  while (turns.length < count && open.length > 0) {
    const type = pick(rng, [...new Set(open.map((t) => t.type))]);
    const ofType = open.filter((t) => t.type === type);
    const reply = pick(rng, [...new Set(ofType.map((t) => t.answer))]);
    const chosen = pick(rng, ofType.filter((t) => t.answer === reply));
    open.splice(open.indexOf(chosen), 1);
    turns.push(chosen);
  }
  return turns;
}
