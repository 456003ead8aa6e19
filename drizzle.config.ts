// drizzle-kit settings: `npm run db:generate -- --name <change>` writes regional/db/migrations,
// which the regional worker applies at start-up (regional/db/client.ts).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./regional/db/schema/index.ts",
  out: "./regional/db/migrations",
  strict: true,
});
