// Prints sql/create.postgres.sql (see `npm run db:schema`): the PostgreSQL schema compiled from the migrations.
import { postgresSchemaSql } from '../platform/db/mysql-schema.js';
import { runScript } from './cli.js';

runScript(async () => {
  process.stdout.write(await postgresSchemaSql());
});
