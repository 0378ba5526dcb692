// Prints sql/create.sql (see `npm run db:schema`): the MySQL schema compiled from the migrations.
import { mysqlSchemaSql } from '../platform/db/mysql-schema.js';
import { runScript } from './cli.js';

runScript(async () => {
  process.stdout.write(await mysqlSchemaSql());
});
