/** The demo's canned answers read like answers to their inputs, and stream back exactly as written. */
import { describe, expect, it } from 'vitest';
import { DEMO_EXAMPLES, DEMO_TASKS, answerTokens } from '../src/index.js';
import type { DemoExample, DemoTaskName } from '../src/index.js';
import { simulatedStream } from '../src/simulated-stream.js';
import type { SimulatedChunk } from '../src/simulated-stream.js';

function examplesOf(task: DemoTaskName): readonly DemoExample[] {
  return DEMO_EXAMPLES[task];
}

/** Numbers as written (`1,200`, `4.8`, `14` of `14:05`). */
function numbersIn(text: string): string[] {
  return text.match(/\d+(?:[.,]\d+)*/g) ?? [];
}

/**
 * What prose has and word salad lacks: sentences that start with a capital (or a list marker) and end
 * with a full stop, no word twice in a row, and words that are mostly not repeats of each other.
 */
function expectProse(text: string): void {
  expect(text, 'ends a sentence').toMatch(/[.!?]$/);
  const sentences: string[] = [];
  for (const line of text.split('\n').filter((item) => item.trim() !== '')) {
    expect(line, 'starts like a sentence or a list item').toMatch(/^(?:[A-Z€]|\d+\. [A-Z]|- (?:[A-Z]|\d))/);
    sentences.push(...line.replace(/^(?:\d+\.|-) /, '').split(/(?<=[.!?])\s+(?=[A-Z])/));
  }
  // Sentences of a readable length: an answer may say "Yes.", but not run on without a full stop.
  const lengths = sentences.map((sentence) => sentence.split(/\s+/).length);
  expect(Math.max(...lengths), 'words in the longest sentence').toBeLessThanOrEqual(50);
  expect(lengths.reduce((sum, length) => sum + length, 0) / lengths.length, 'words a sentence').toBeGreaterThanOrEqual(6);
  const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  expect(words.length).toBeGreaterThanOrEqual(20);
  for (let i = 1; i < words.length; i += 1) expect(`${words[i - 1]} ${words[i]}`, 'a word twice in a row').not.toMatch(/^(\p{L}+) \1$/u);
  // Function words repeat in any text; a handful of words drawn at random repeat far more.
  expect(new Set(words).size / words.length, 'distinct words').toBeGreaterThan(0.55);
}

describe('the demo tasks', () => {
  it('each have several examples with different inputs and different answers', () => {
    expect(DEMO_TASKS.map((task) => task.task).sort()).toEqual(Object.keys(DEMO_EXAMPLES).sort());
    for (const task of DEMO_TASKS) {
      expect(task.examples, task.task).toBe(DEMO_EXAMPLES[task.task]);
      expect(task.examples.length, task.task).toBeGreaterThanOrEqual(4);
      expect(new Set(task.examples.map((example) => example.input)).size).toBe(task.examples.length);
      expect(new Set(task.examples.map((example) => example.answer)).size).toBe(task.examples.length);
    }
    // The page tells sessions apart by their content preview (its first 200 characters).
    const previews = DEMO_TASKS.flatMap((task) => task.examples.map((example) => example.input.slice(0, 200)));
    expect(new Set(previews).size).toBe(previews.length);
  });

  it('summarize in fewer words, with no figure that is not in the text', () => {
    for (const { input, answer } of examplesOf('summarize')) {
      expectProse(answer);
      expect(answer.length).toBeLessThan(input.length);
      for (const number of numbersIn(answer)) expect(numbersIn(input), `${number} in the summary`).toContain(number);
    }
  });

  it('translate German into English prose', () => {
    for (const { input, answer } of examplesOf('translate')) {
      expect(input).toMatch(/\b(?:der|die|das|und|Sie|wir|ist)\b/);
      expectProse(answer);
      expect(answer, 'no German left').not.toMatch(/[äöüß]|\b(?:der|die|das|und|nicht)\b/);
    }
  });

  it('classify tickets with a label and priority the instruction offers, and a reason', () => {
    const instruction = DEMO_TASKS.find((task) => task.task === 'classify')!.instruction;
    for (const { answer } of examplesOf('classify')) {
      const match = /^Category: (\w+)\nPriority: (\w+)\nReason: (.+)$/.exec(answer);
      expect(match, answer).not.toBeNull();
      expect(instruction).toContain(match![1]!);
      expect(['low', 'normal', 'high', 'urgent']).toContain(match![2]);
      expect(match![3]).toMatch(/^[A-Z][^\n]+\.$/);
    }
  });

  it('answer questions in prose', () => {
    for (const { input, answer } of examplesOf('answer_question')) {
      expect(input).toMatch(/\?$/);
      expectProse(answer);
    }
  });

  it('extract entities as JSON, each as it appears in the text', () => {
    for (const { input, answer } of examplesOf('extract_entities')) {
      const parsed = JSON.parse(answer) as { entities: { text: string; type: string }[] };
      expect(parsed.entities.length).toBeGreaterThanOrEqual(3);
      for (const entity of parsed.entities) {
        expect(input).toContain(entity.text);
        expect(entity.type).toMatch(/^[A-Z]+$/);
      }
    }
  });

  it('tell word salad apart: the prose check fails on words drawn at random, even dressed as sentences', () => {
    // The vocabulary the demo used to stream words from at random.
    const words =
      'the model considers context carefully and answers with a short clear summary of key points including dates names figures'.split(' ');
    let state = 7;
    const draw = (): string => words[(state = (state * 31 + 11) % 97) % words.length]!;
    const salad = Array.from({ length: 60 }, draw).join(' ');
    expect(() => expectProse(salad)).toThrow();
    const sentences = Array.from({ length: 5 }, () => {
      const sentence = Array.from({ length: 12 }, draw).join(' ');
      return `${sentence[0]!.toUpperCase()}${sentence.slice(1)}.`;
    }).join(' ');
    expect(() => expectProse(sentences)).toThrow(/distinct words/);
  });
});

describe('answerTokens', () => {
  it('cuts every answer into tokens that give the answer back, each one piece with the space before it', () => {
    for (const task of DEMO_TASKS) {
      for (const { answer } of task.examples) {
        const tokens = answerTokens(answer);
        expect(tokens.join('')).toBe(answer);
        for (const token of tokens) expect(token).toMatch(/^\s*(?:\p{L}+|\p{N}{1,3}|[^\s\p{L}\p{N}])$/u);
        // Roughly what a BPE tokenizer makes of English: more tokens than words, fewer than characters / 3.
        expect(tokens.length).toBeGreaterThanOrEqual(answer.split(/\s+/).length);
        expect(tokens.length).toBeLessThan(answer.length / 3);
      }
    }
  });

  it('keeps trailing whitespace and returns nothing for an empty text', () => {
    expect(answerTokens('Done. \n')).toEqual(['Done', '.', ' \n']);
    expect(answerTokens('')).toEqual([]);
    expect(answerTokens('Q3 grew 12%, to €4.8m')).toEqual(['Q', '3', ' grew', ' 12', '%', ',', ' to', ' €', '4', '.', '8', 'm']);
  });
});

describe('simulatedStream', () => {
  const wait = (): Promise<void> => Promise.resolve();

  async function collect(stream: AsyncGenerator<SimulatedChunk>): Promise<SimulatedChunk[]> {
    const chunks: SimulatedChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  }

  it('sends one token per chunk and reports as many completion tokens as it sent', async () => {
    const tokens = answerTokens(DEMO_EXAMPLES.classify[0]!.answer);
    const chunks = await collect(
      simulatedStream({ tokens, tokensPerSecond: 100, inputTokens: 42, wait, failAfter: Infinity, failure: undefined }),
    );
    expect(
      chunks
        .slice(0, -1)
        .map((chunk) => chunk.choices[0]!.delta.content)
        .join(''),
    ).toBe(DEMO_EXAMPLES.classify[0]!.answer);
    expect(chunks.at(-1)).toEqual({ choices: [], usage: { prompt_tokens: 42, completion_tokens: tokens.length } });
  });

  it('breaks off after the tokens it was told to send', async () => {
    const tokens = answerTokens('One two three four.');
    const sent: string[] = [];
    const failure = new Error('429 rate limit exceeded');
    await expect(
      (async () => {
        for await (const chunk of simulatedStream({ tokens, tokensPerSecond: 100, inputTokens: 1, wait, failAfter: 2, failure }))
          sent.push(chunk.choices[0]!.delta.content!);
      })(),
    ).rejects.toBe(failure);
    expect(sent).toEqual(['One', ' two']);
  });
});
