import { describe, expect, it } from 'vitest';
import {
  BUILTIN_STAGE_IDS,
  BUILTIN_STAGES,
  builtinStageProgress,
  isBuiltinStage,
  isValidProgress,
  isValidStageId,
  sessionSpanName,
  stageSpanName,
  llmCallSpanName,
} from '../src/index.js';

describe('stages', () => {
  it('are the ten stages with their wire ids, in order', () => {
    expect(BUILTIN_STAGE_IDS).toEqual([
      'initializing',
      'validating_input',
      'resolving_template',
      'generating_prompt',
      'selecting_model',
      'connecting_to_model',
      'sending_request',
      'streaming_response',
      'processing_response',
      'collecting_metadata',
    ]);
  });

  it('have progress values within 0–100 that only increase', () => {
    const progress = BUILTIN_STAGES.map((stage) => stage.progress);
    expect(progress.every(isValidProgress)).toBe(true);
    expect(progress.every((value, i) => i === 0 || value > progress[i - 1]!)).toBe(true);
    expect(Math.max(...progress)).toBeLessThan(100);
  });

  it('know which ids are built in and their progress', () => {
    expect(isBuiltinStage('streaming_response')).toBe(true);
    expect(isBuiltinStage('my_stage')).toBe(false);
    expect(builtinStageProgress('sending_request')).toBe(60);
    expect(builtinStageProgress('my_stage')).toBeUndefined();
  });

  it('accept only snake_case custom stage ids', () => {
    expect(isValidStageId('rerank_results')).toBe(true);
    expect(isValidStageId('Rerank')).toBe(false);
    expect(isValidStageId('re-rank')).toBe(false);
    expect(isValidStageId('')).toBe(false);
    expect(isValidStageId('a'.repeat(65))).toBe(false);
  });

  it('reject progress outside 0–100', () => {
    expect(isValidProgress(-1)).toBe(false);
    expect(isValidProgress(100.5)).toBe(false);
    expect(isValidProgress(Number.NaN)).toBe(false);
  });
});

describe('span names', () => {
  it('follow the contract and the GenAI "operation model" form', () => {
    expect(sessionSpanName('summarize')).toBe('llm_monitor.session summarize');
    expect(stageSpanName('initializing')).toBe('llm_monitor.stage initializing');
    expect(llmCallSpanName('chat', 'gpt-4o')).toBe('chat gpt-4o');
    expect(llmCallSpanName('embeddings', '')).toBe('embeddings');
  });
});
