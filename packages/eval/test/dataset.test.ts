import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../src/index.js';

const file = (records: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'eval-data-')), 'q.json');
  writeFileSync(path, JSON.stringify(records));
  return path;
};
const conversation = (question: string, answer: string) => [{ from: 'human', value: question }, { from: 'gpt', value: answer }];

describe('readDataset', () => {
  it('reads the question without the <image> placeholder and the answer', () => {
    const path = file([{ id: 'a', image: 'images/0.png', type: 'color', conversations: conversation('<image>\nWhat color is the circle?', 'red') }]);
    expect(readDataset(path)).toEqual([{ id: 'a', image: 'images/0.png', type: 'color', question: 'What color is the circle?', answer: 'red' }]);
  });

  it('accepts the placeholder after the question, as in some LLaVA data', () => {
    const [r] = readDataset(file([{ id: 'a', image: 'x.png', conversations: conversation('Is there a red circle?\n<image>', 'yes') }]));
    expect(r.question).toBe('Is there a red circle?');
  });

  it('gives records without a type the type "all"', () => {
    expect(readDataset(file([{ id: 7, image: 'x.png', conversations: conversation('<image>\nQ?', 'a') }]))[0]).toMatchObject({ id: '7', type: 'all' });
  });

  it('reads a record without "image" as a text-only question', () => {
    const [r] = readDataset(file([{ id: 't', type: 'exists', conversations: conversation('red circle Is there a red circle?', 'yes') }]));
    expect(r).toEqual({ id: 't', type: 'exists', question: 'red circle Is there a red circle?', answer: 'yes' });
  });

  it('reads a record whose image is given as patch words', () => {
    const [r] = readDataset(file([{ id: 'p', type: 'exists', patch_words: ['red circle', ''], conversations: conversation('<image>\nIs there a red circle?', 'yes') }]));
    expect(r).toEqual({ id: 'p', type: 'exists', patchWords: ['red circle', ''], question: 'Is there a red circle?', answer: 'yes' });
  });

  it('names a record with both an image and patch words', () => {
    const path = file([{ id: 'b', image: 'x.png', patch_words: [''], conversations: conversation('<image>\nQ?', 'a') }]);
    expect(() => readDataset(path)).toThrow(`${path} record 0 (id b): has both "image" and "patch_words"; give one or the other`);
  });

  it('names a patch word that is not a string', () => {
    const path = file([{ id: 'w', patch_words: ['red circle', 7], conversations: conversation('<image>\nQ?', 'a') }]);
    expect(() => readDataset(path)).toThrow(`${path} record 0 (id w): field "patch_words[1]" must be a string of words ("" for none)`);
  });

  it('names a text-only record whose question holds <image>', () => {
    const path = file([{ id: 't', conversations: conversation('<image>\nQ?', 'a') }]);
    expect(() => readDataset(path)).toThrow(`${path} record 0 (id t): field "conversations[0].value" holds <image> but the record has no "image"`);
  });

  it('names a record with an image whose question has no <image>', () => {
    const path = file([{ id: 'i', image: 'x.png', conversations: conversation('Q?', 'a') }]);
    expect(() => readDataset(path)).toThrow(`${path} record 0 (id i): field "conversations[0].value" has no <image> placeholder`);
  });

  it('names the file, record and field at fault', () => {
    const path = file([
      { id: 'ok', image: 'x.png', conversations: conversation('<image>\nQ?', 'a') },
      { id: 'bad', image: 3, conversations: conversation('<image>\nQ?', 'a') },
    ]);
    expect(() => readDataset(path)).toThrow(`${path} record 1 (id bad): field "image" must be a string`);
  });

  it('names a record with no gpt turn after the question', () => {
    const path = file([{ id: 'q', image: 'x.png', conversations: [{ from: 'human', value: '<image>\nQ?' }] }]);
    expect(() => readDataset(path)).toThrow(`${path} record 0 (id q): field "conversations" has no gpt turn after the first human turn`);
  });

  it('names a file that is not a list', () => {
    const path = file({ records: [] });
    expect(() => readDataset(path)).toThrow(`${path}: expected a JSON list of records`);
  });

  it('names a missing file', () => {
    expect(() => readDataset('/nonexistent/q.json')).toThrow('/nonexistent/q.json: no such file');
  });
});
