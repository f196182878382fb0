// Every HTTP API of Verge as endpoint contracts.
export * from "./endpoint.ts";
export * from "./control-plane.ts";
export * from "./gateway.ts";
export * from "./trainer.ts";
