// GET /ui: the dashboard, served from the worker itself (bundled at build time: no CDN, works
// offline). It signs in with an admin-API token and calls the same API as everyone else.
import appCss from "../../ui/dist/app.css.txt";
import appJs from "../../ui/dist/app.js.txt";
import indexHtml from "../../ui/index.html";
import { newApp } from "../http/app.ts";

// Everything comes from this origin; uPlot sizes its canvas with inline styles.
const SECURITY = { "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'", "x-content-type-options": "nosniff", "cache-control": "no-cache" };

export const uiRoutes = newApp()
  .get("/", (c) => c.body(indexHtml, 200, { ...SECURITY, "content-type": "text/html; charset=utf-8" }))
  .get("/app.js", (c) => c.body(appJs, 200, { ...SECURITY, "content-type": "text/javascript; charset=utf-8" }))
  .get("/app.css", (c) => c.body(appCss, 200, { ...SECURITY, "content-type": "text/css; charset=utf-8" }));
