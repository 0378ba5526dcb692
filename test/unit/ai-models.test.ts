import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createModelCatalog } from '../../src/modules/ai/ai.models.js';
import type { LlmModel, LlmProviderInfo } from '../../src/modules/ai/ai.providers.js';

const log = pino({ level: 'silent' });

function llm(...providers: LlmProviderInfo[]) {
  const models: LlmModel[] = providers.flatMap((provider) => provider.models.map((model) => ({ id: `${provider.name}/${model}`, provider: provider.name, model })));
  return { models: () => models, providers: () => providers };
}

const configured = llm(
  { name: 'deepseek', defaultModel: 'deepseek-chat', models: ['deepseek-chat'] },
  { name: 'local', defaultModel: 'qwen3', models: ['qwen3', 'llama3.2', 'meta/llama-4'] },
);

describe('AI model catalog', () => {
  it('resolves a provider name alone to that provider’s default model and keeps provider/model as given', () => {
    const catalog = createModelCatalog(configured, undefined, log);
    expect(catalog.resolve('deepseek')).toBe('deepseek/deepseek-chat');
    expect(catalog.resolve('local')).toBe('local/qwen3');
    expect(catalog.resolve('local/llama3.2')).toBe('local/llama3.2');
    // A model name may itself contain a slash.
    expect(catalog.resolve('local/meta/llama-4')).toBe('local/meta/llama-4');
  });

  it('takes the first choice given and falls back to the default only when none is', () => {
    const catalog = createModelCatalog(configured, 'local', log);
    expect(catalog.defaultModel).toBe('local/qwen3');
    expect(catalog.resolve(undefined, null)).toBe('local/qwen3');
    expect(catalog.resolve(undefined, 'deepseek', 'local/llama3.2')).toBe('deepseek/deepseek-chat');
  });

  it('refuses unknown providers and models with VALIDATION_FAILED on model, naming what is configured', () => {
    const catalog = createModelCatalog(configured, undefined, log);
    expect(() => catalog.resolve('gemini')).toThrowError(expect.objectContaining({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ field: 'model' })] }));
    expect(() => catalog.resolve('gemini')).toThrowError(/configured providers: deepseek, local/);
    expect(() => catalog.resolve('local/nope')).toThrowError(/local offers local\/qwen3, local\/llama3.2, local\/meta\/llama-4/);
    // An unknown first choice is refused, not passed over for a later one.
    expect(() => catalog.resolve('nope', 'deepseek')).toThrowError(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('falls back to the first model when AI_DEFAULT_MODEL names nothing configured', () => {
    expect(createModelCatalog(configured, 'gemini/gemini-2.5-flash', log).defaultModel).toBe('deepseek/deepseek-chat');
    expect(createModelCatalog(llm(), undefined, log).available).toBe(false);
  });

  it('lists every model with the default marked, and every provider with its default and models', () => {
    expect(createModelCatalog(configured, 'local/llama3.2', log).list()).toEqual({
      items: [
        { id: 'deepseek/deepseek-chat', provider: 'deepseek', model: 'deepseek-chat', default: false },
        { id: 'local/qwen3', provider: 'local', model: 'qwen3', default: false },
        { id: 'local/llama3.2', provider: 'local', model: 'llama3.2', default: true },
        { id: 'local/meta/llama-4', provider: 'local', model: 'meta/llama-4', default: false },
      ],
      default: 'local/llama3.2',
      providers: [
        { name: 'deepseek', defaultModel: 'deepseek/deepseek-chat', models: ['deepseek/deepseek-chat'] },
        { name: 'local', defaultModel: 'local/qwen3', models: ['local/qwen3', 'local/llama3.2', 'local/meta/llama-4'] },
      ],
    });
  });
});
