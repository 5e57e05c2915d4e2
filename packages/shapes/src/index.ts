/**
 * @adsc/shapes: the Shapes VQA task (seeded scenes of coloured shapes, questions with one-word
 * answers balanced per type, PNG rendering, LLaVA conversation JSON) and the untrained
 * shapes-llava model that learns it.
 */
export {
  BACKGROUND, BASE_IMAGE_SIZE, COLORS, COLOR_NAMES, DEFAULT_LAYOUT, SHAPES,
  fits, isColor, isShape, place, reach, scaled,
  type Color, type Layout, type Rng, type Scene, type SceneObject, type Shape,
} from './scene.js';
export { inside, renderScene, type RgbPixels } from './render.js';
export { centrePatches, patchOwners, readingOrder } from './patches.js';
export { encodePng } from './png.js';
export { ANSWERS, MAX_COUNT, QUESTION_TYPES, RELATION_MARGIN, allQuestions, answer, questionText, side, type Question, type QuestionType } from './questions.js';
export { describeLayout, generateExample, possible, type Example } from './generate.js';
export { LayoutError, parseLayout, parseTypes } from './layout.js';
export { followUps, type Turn } from './follow-ups.js';
export {
  DatasetExistsError, MAX_IMAGE_SIZE, MAX_OBJECTS, MAX_OBJECT_SIZE, MAX_TURNS, MIN_IMAGE_SIZE, MIN_OBJECT_SIZE, generateShapes, llavaRecord, recordTurns, writeShapes,
  type LlavaRecord, type ShapesOptions, type ShapesRecord,
} from './dataset.js';
export {
  BOS_TOKEN_ID, EOS_TOKEN_ID, IMAGE_TOKEN_ID, PAD_TOKEN_ID, SPECIAL_TOKENS, UNK_TOKEN_ID,
  shapesTokenizerConfig, shapesTokenizerJson, shapesVocabulary, words,
} from './vocabulary.js';
export { SHAPES_LLAVA_SIZES, TEXT, VISION, initShapesLlava, type LlavaSizes, shapesLlavaConfig, shapesLlavaFiles, shapesPreprocessorConfig, writeShapesLlava } from './shapes-llava.js';
export { DESCRIBE_QUESTIONS, describeScene, sceneText, type DescribeOrder } from './describe.js';
