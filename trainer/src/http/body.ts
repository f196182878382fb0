// Request bodies are limited before they are read: a Content-Length over the limit is refused at
// once, and a body without one (chunked) is read only up to the limit (Hono's bodyLimit), so one
// large body cannot make the node buffer it.
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "@verge/shared";

/**
 * @example
 * app.post("/hooks/alerts", limitBody(1 << 20), handler)
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError("payload_too_large", `body: larger than ${maxBytes} bytes`, { limit_bytes: maxBytes });
    },
  });
}
