// Build step: copy the dashboard's page assets (HTML, CSS, browser JS) next to the compiled server.
import { cpSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
cpSync(`${root}src/lab/dashboard/assets`, `${root}dist/src/lab/dashboard/assets`, { recursive: true });
