import { describe, expect, it } from 'vitest';
import { claimOwnerOf, newClaimTag } from '../../src/spool/claim.js';
import { DISCARD_TAG_PREFIX, isDiscardName, tagStartOf, uniqueName } from '../../src/spool/keys.js';

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

describe('claim owners in claimed names', () => {
  it('reads the owner from the tag, whatever dots, dashes and underscores the id holds', () => {
    const tag = newClaimTag(30_000);
    const owner = tag.slice(0, tag.indexOf('_'));
    expect(claimOwnerOf(`42.${tag}.json`)).toBe(owner);
    expect(claimOwnerOf(`order.a_b-7.${tag}.json`)).toBe(owner);
    expect(tagStartOf(`order.a_b-7.${tag}.json`)).toBe('order.a_b-7.'.length);
    // A tag made before claims named their owner, or a name with no tag at all.
    expect(claimOwnerOf('42.k3x9.json')).toBeUndefined();
    expect(claimOwnerOf('a_b.json')).toBeUndefined();
    expect(tagStartOf('42.json')).toBe(0);
  });
});
