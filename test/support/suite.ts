import { afterAll, beforeAll } from 'vitest';
import { type Api, apiClient } from './http.js';
import { createTestEnvironment, type Overrides, startServer, type TestEnvironment, type TestServer } from './server.js';

/**
 * One real server for a describe block: started in beforeAll on a fresh environment, closed and
 * cleaned up in afterAll. `api` may be captured at declaration time; it reaches the server once started.
 */
export function useTestServer(overrides: Overrides = {}) {
  let env: TestEnvironment | undefined;
  let server: TestServer | undefined;
  let client: Api | undefined;
  beforeAll(async () => {
    env = await createTestEnvironment();
    server = await startServer(env, overrides);
    client = apiClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
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
    get server(): TestServer {
      return started(server);
    },
    api: ((...args: Parameters<Api>) => started(client)(...args)) as Api,
  };
}
