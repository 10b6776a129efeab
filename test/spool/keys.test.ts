import { describe, expect, it } from 'vitest';
import { DISCARD_TAG_PREFIX, isDiscardName, uniqueName } from '../../src/spool/keys.js';

describe('names of held files', () => {
  it('tells a removal in progress from a job being moved by its tag, whatever the id holds', () => {
    const tag = uniqueName();
    expect(tag).not.toMatch(/[.-]/);
    expect(isDiscardName(`42.${DISCARD_TAG_PREFIX}${tag}.json`)).toBe(true);
    expect(isDiscardName(`order.rm-7.${DISCARD_TAG_PREFIX}${tag}.json`)).toBe(true);
    expect(isDiscardName(`42.${tag}.json`)).toBe(false);
    // A custom id that looks like a removal tag is still a claim of a job.
    expect(isDiscardName(`order.rm-7.${tag}.json`)).toBe(false);
    expect(isDiscardName(`rm-1.json`)).toBe(false);
    expect(isDiscardName('42.json')).toBe(false);
  });
});
