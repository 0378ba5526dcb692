import { afterAll, beforeAll } from 'vitest';
import type { BuildOptions } from '../../src/app.js';
import { type FakeLlm, startFakeLlm } from './fake-llm.js';
import { type Api, apiClient } from './http.js';
import { type FakePushService, startFakePushService } from './push-service.js';
import { createTestEnvironment, type Overrides, startServer, type TestEnvironment, type TestEnvironmentOptions, type TestServer } from './server.js';

export interface TestServerOptions {
  /** Where the environment's database and cache live; defaults to TEST_DATABASE_URL and TEST_REDIS_URL. */
  environment?: TestEnvironmentOptions;
  /**
   * Servers sharing the one environment (database, cache, DATA_DIR), like processes of one
   * deployment; started one at a time so the first applies the migrations. Defaults to 1.
   */
  servers?: number;
  /** buildApp options; jobs stay off unless a suite is about them. */
  build?: BuildOptions;
}

/**
 * The real server(s) of a describe block: started in beforeAll on a fresh environment, closed and
 * cleaned up in afterAll. `api` may be captured at declaration time; it reaches the server once started.
 *
 * `overrides` may be an (async) function of the fresh environment, run in beforeAll just before the
 * servers start: there a suite starts what their configuration points at (a fake AI provider, a TURN
 * server, a certificate in DATA_DIR) and returns its address. A suite's own beforeAll, declared
 * after this call, runs once the servers are up, and its afterAll runs before they close (Vitest
 * runs after-hooks in reverse order).
 */
export function useTestServer(overrides: Overrides | ((env: TestEnvironment) => Overrides | Promise<Overrides>) = {}, options: TestServerOptions = {}) {
  let env: TestEnvironment | undefined;
  const servers: TestServer[] = [];
  let client: Api | undefined;
  beforeAll(async () => {
    const fresh = await createTestEnvironment(options.environment);
    env = fresh;
    const vars = typeof overrides === 'function' ? await overrides(fresh) : overrides;
    for (let i = 0; i < (options.servers ?? 1); i++) servers.push(await startServer(fresh, vars, options.build));
    client = apiClient(servers[0]!.url);
  });
  afterAll(async () => {
    for (const server of servers.splice(0)) await server.close();
    await env?.dispose();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the test server starts in beforeAll: use it inside a test');
    return value;
  };
  return {
    get env(): TestEnvironment {
      return started(env);
    },
    /** The (first) server. */
    get server(): TestServer {
      return started(servers[0]);
    },
    /** Every server, in the order they started. */
    get servers(): readonly TestServer[] {
      started(servers[0]);
      return servers;
    },
    api: ((...args: Parameters<Api>) => started(client)(...args)) as Api,
  };
}

/**
 * A test server whose AI provider `local` (model `m1`) is a fake started with it and closed after
 * it: for suites that need AI features on but are not about the providers themselves.
 */
export function useTestServerWithFakeLlm(): { suite: ReturnType<typeof useTestServer>; fake: () => FakeLlm } {
  let fake: FakeLlm | undefined;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return { AI_PROVIDERS: JSON.stringify([{ name: 'local', baseUrl: fake.openaiBaseUrl, apiKey: 'local-key', models: ['m1'] }]) };
  });
  afterAll(async () => {
    await fake?.close();
  });
  return {
    suite,
    fake: () => {
      if (!fake) throw new Error('the fake provider starts in beforeAll: use it inside a test');
      return fake;
    },
  };
}

/**
 * A test server that may send Web Push to a fake push service started with it (on loopback, so
 * OUTBOUND_ALLOW_PRIVATE is on) and closed after it; `overrides` add to the server's configuration.
 */
export function useTestServerWithFakePush(overrides: Overrides = {}): { suite: ReturnType<typeof useTestServer>; service: () => FakePushService } {
  let fake: FakePushService | undefined;
  const suite = useTestServer(async () => {
    fake = await startFakePushService();
    return { OUTBOUND_ALLOW_PRIVATE: 'true', ...overrides };
  });
  afterAll(async () => {
    await fake?.close();
  });
  return {
    suite,
    service: () => {
      if (!fake) throw new Error('the push service starts in beforeAll: use it inside a test');
      return fake;
    },
  };
}
