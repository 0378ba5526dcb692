import type { AiModelList } from '../../contract/ai.js';
import type { Logger } from '../../platform/logger.js';
import { AppError } from '../../shared/errors.js';
import type { LlmProvider } from './ai.providers.js';

/**
 * The configured models and how a request's `model` becomes one of them: `provider/model` as
 * listed, or a provider name alone, which stands for that provider's default model. Everything
 * stored (conversations, messages) and sent upstream is the resolved `provider/model`.
 */
export function createModelCatalog(llm: Pick<LlmProvider, 'models' | 'providers'>, configuredDefault: string | undefined, log: Logger) {
  const models = llm.models();
  const providers = llm.providers();
  const ids = models.map((model) => model.id);
  const providerDefaults = new Map(providers.map((provider) => [provider.name, `${provider.name}/${provider.defaultModel}`]));

  /** The `provider/model` a choice names, or undefined when it names nothing configured. */
  const lookup = (choice: string): string | undefined => (ids.includes(choice) ? choice : providerDefaults.get(choice));

  const fallback = ids[0];
  const defaultModel = configuredDefault === undefined ? fallback : (lookup(configuredDefault) ?? fallback);
  if (configuredDefault !== undefined && lookup(configuredDefault) === undefined && fallback !== undefined) {
    log.warn({ model: configuredDefault, using: fallback }, 'AI_DEFAULT_MODEL is not a configured model or provider; using the first model');
  }

  function unknown(choice: string): AppError {
    const names = providers.map((provider) => provider.name).join(', ');
    const slash = choice.indexOf('/');
    const provider = slash > 0 ? providers.find((candidate) => candidate.name === choice.slice(0, slash)) : undefined;
    if (provider) {
      const offered = models.filter((model) => model.provider === provider.name).map((model) => model.id);
      return AppError.validation('model', `unknown model "${choice}"; ${provider.name} offers ${offered.join(', ')} (or pass "${provider.name}" alone for its default)`);
    }
    return AppError.validation('model', `unknown model or provider "${choice}"; configured providers: ${names}; GET /ai/models lists their models`);
  }

  return {
    available: ids.length > 0,

    /** The model a request naming none uses (AI_DEFAULT_MODEL, else the first configured); undefined without providers. */
    defaultModel: defaultModel as string,

    /**
     * The first given choice, resolved to `provider/model`; the default when none is given. An
     * unknown choice is refused (VALIDATION_FAILED on `model`), never passed over for the next one.
     */
    resolve(...choices: Array<string | null | undefined>): string {
      for (const choice of choices) {
        if (choice === undefined || choice === null) continue;
        const resolved = lookup(choice);
        if (resolved === undefined) throw unknown(choice);
        return resolved;
      }
      return defaultModel as string;
    },

    /** `GET /ai/models`: every model, the default marked, and the providers with their defaults. */
    list(): AiModelList {
      return {
        items: models.map((model) => ({ ...model, default: model.id === defaultModel })),
        default: defaultModel as string,
        providers: providers.map((provider) => ({
          name: provider.name,
          defaultModel: providerDefaults.get(provider.name) as string,
          models: provider.models.map((model) => `${provider.name}/${model}`),
        })),
      };
    },
  };
}

export type ModelCatalog = ReturnType<typeof createModelCatalog>;
