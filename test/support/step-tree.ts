/** Assertions on a session's tree of steps, shared by the framework tests. */
import { expect } from 'vitest';
import type { ProcessingSession, StepRecord } from '@llm-monitor/sessions';

type Branch = [head: string, ...lines: string[]];

/** Branches in the order of their first line, each branch's lines indented under it. */
function sortedBranches(branches: Branch[]): string[] {
  return branches
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([head, ...lines]) => [head, ...lines.map((line) => `  ${line}`)]);
}

/**
 * The tree of steps as `kind name` lines, each step's children indented under it. Siblings are in
 * the order of their lines, not of their starts: the OTel JS SDK stamps a span's start in whole
 * milliseconds, so steps that start in the same millisecond have no order (their span ids decide).
 * Tests check the order that matters by the steps' times ({@link expectStartOrder}).
 */
export function stepTree(steps: readonly StepRecord[], parent: string | null = null): string[] {
  return sortedBranches(
    steps
      .filter((step) => step.parent_span_id === parent)
      .map((step): Branch => [`${step.kind} ${step.name}`, ...stepTree(steps, step.span_id)]),
  );
}

/** A tree written as indented lines (two spaces a level), in the order {@link stepTree} gives. */
export function tree(lines: readonly string[]): string[] {
  const branches: Branch[] = [];
  for (const line of lines) {
    if (line.startsWith('  ') && branches.length > 0) branches.at(-1)!.push(line.slice(2));
    else branches.push([line]);
  }
  return sortedBranches(branches.map(([head, ...rest]): Branch => [head, ...tree(rest)]));
}

/** Each step starts no earlier than the one before it (to the millisecond, as the times are). */
export function expectStartOrder(steps: readonly StepRecord[]): void {
  const starts = steps.map((step) => Date.parse(step.start_time));
  expect(starts, steps.map((step) => step.name).join(' → ')).toEqual([...starts].sort((a, b) => a - b));
}

/** The `index`th step of the session named `name` (asserted to exist). */
export function stepNamed(session: ProcessingSession, name: string, index = 0): StepRecord {
  const matching = session.steps.filter((step) => step.name === name);
  expect(matching.length, `steps named ${name}`).toBeGreaterThan(index);
  return matching[index]!;
}
