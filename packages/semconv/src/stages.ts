/**
 * The ten processing stages of an LLM request, in order, with the progress (0–100) a session has
 * reached when the stage begins. Ids are the wire values of the `llm_monitor.stage` attribute.
 */
export const BUILTIN_STAGES = [
  { id: 'initializing', label: 'Initializing', progress: 0 },
  { id: 'validating_input', label: 'Validating input', progress: 10 },
  { id: 'resolving_template', label: 'Resolving template', progress: 20 },
  { id: 'generating_prompt', label: 'Generating prompt', progress: 30 },
  { id: 'selecting_model', label: 'Selecting model', progress: 40 },
  { id: 'connecting_to_model', label: 'Connecting to model', progress: 50 },
  { id: 'sending_request', label: 'Sending request', progress: 60 },
  { id: 'streaming_response', label: 'Streaming response', progress: 70 },
  { id: 'processing_response', label: 'Processing response', progress: 85 },
  { id: 'collecting_metadata', label: 'Collecting metadata', progress: 95 },
] as const;

/** Wire id of one of the ten built-in stages. */
export type BuiltinStageId = (typeof BUILTIN_STAGES)[number]['id'];

/**
 * A stage id on the wire: a built-in one or a custom stage registered by the application
 * (lowercase snake_case, see {@link isValidStageId}).
 */
export type StageId = BuiltinStageId | (string & {});

/** A stage definition: its wire id, a human label, and the progress reached when it begins. */
export interface StageDefinition {
  readonly id: StageId;
  readonly label: string;
  readonly progress: number;
}

/** Stage ids in their canonical order. */
export const BUILTIN_STAGE_IDS: readonly BuiltinStageId[] = BUILTIN_STAGES.map((stage) => stage.id);

/**
 * Pseudo-stages a session reports as its `current_stage` once it has ended. They are never the
 * stage of a span; they only appear in the session model and its events timeline.
 */
export const TERMINAL_STAGES = {
  completed: 'completed',
  failed: 'failed',
  abandoned: 'abandoned',
} as const;

/** Progress of a session that finished successfully. */
export const PROGRESS_COMPLETE = 100;

const builtinProgress: ReadonlyMap<string, number> = new Map(BUILTIN_STAGES.map((s) => [s.id, s.progress]));

/** True when `id` is one of the ten built-in stage ids. */
export function isBuiltinStage(id: string): id is BuiltinStageId {
  return builtinProgress.has(id);
}

/** Progress (0–100) at which a built-in stage begins, or `undefined` for a custom stage. */
export function builtinStageProgress(id: string): number | undefined {
  return builtinProgress.get(id);
}

const STAGE_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** True when `id` is acceptable as a (custom) stage id: lowercase snake_case, at most 64 characters. */
export function isValidStageId(id: string): boolean {
  return STAGE_ID_PATTERN.test(id);
}

/** True when `progress` is a finite number within 0–100. */
export function isValidProgress(progress: number): boolean {
  return Number.isFinite(progress) && progress >= 0 && progress <= 100;
}
