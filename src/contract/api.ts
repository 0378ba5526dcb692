/** Where every REST route lives: the server mounts its routes here and the SDK calls them here. */
export const API_PREFIX = '/api/v1';
