/**
 * The mock upstream's embeddings carry meaning (the semantic cache tests rely on it): paraphrases
 * near, unrelated texts far, a question and its negation near (as with real models: the guard
 * must catch those), deterministic, and a shorter vector is the start of a longer one.
 */
import { describe, expect, it } from 'vitest';
import { mockEmbedding, mockStems } from '../support/mock-upstream/index.js';

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

const DIMS = 256;
const similarity = (a: string, b: string): number => cosine(mockEmbedding(a, DIMS), mockEmbedding(b, DIMS));

describe('mock embeddings', () => {
  it('folds case, punctuation, stopwords and synonyms into the same stems', () => {
    expect(mockStems('What is the capital city of France?')).toEqual(['capital', 'france']);
    expect(mockStems("Tell me France's capital")).toEqual(['france', 'capital']);
    expect(mockStems('Recommend a good film')).toEqual(mockStems('recommend a good movie'));
  });

  it('puts paraphrases near and unrelated texts far', () => {
    expect(similarity('What is the capital city of France?', "Tell me France's capital")).toBeGreaterThan(0.97);
    expect(similarity('Recommend a good film', 'Please recommend a good movie.')).toBeGreaterThan(0.97);
    expect(similarity('What is the capital of France?', 'How do I bake sourdough bread?')).toBeLessThan(0.3);
    expect(similarity('What is the capital of France?', 'What is the capital of Germany?')).toBeLessThan(0.8);
  });

  it('keeps a question and its negation near, as real models do', () => {
    expect(similarity('Is ibuprofen safe during pregnancy?', 'Is ibuprofen not safe during pregnancy?')).toBeGreaterThan(0.97);
  });

  it('is deterministic, in [-1, 1), and prefix-consistent across dimensions', () => {
    expect(mockEmbedding('hello world', DIMS)).toEqual(mockEmbedding('hello world', DIMS));
    expect(mockEmbedding('hello world', 4)).toEqual(mockEmbedding('hello world', DIMS).slice(0, 4));
    expect(mockEmbedding('hello world')).not.toEqual(mockEmbedding('hello world!'));
    expect(mockEmbedding('a', DIMS).every((value) => value >= -1 && value < 1)).toBe(true);
  });
});
