// drizzle-kit settings for the key store (regional/keystore/), a database apart from the batch
// data: `npx drizzle-kit generate --config drizzle.keystore.config.ts --name <change>`.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./regional/keystore/schema.ts",
  out: "./regional/keystore/migrations",
  strict: true,
});
