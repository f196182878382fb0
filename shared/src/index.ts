// The contracts and pure logic shared by the gateway, the control plane and the trainer.
export * from "./errors.ts";
export * from "./bucketing.ts";
export * from "./allocation.ts";
export * from "./features.ts";
export * from "./schemas/common.ts";
export * from "./schemas/feature-spec.ts";
export * from "./schemas/registry.ts";
export * from "./schemas/snapshot.ts";
export * from "./schemas/predict.ts";
export * from "./schemas/log-record.ts";
export * from "./crypto.ts";
export * from "./latency.ts";
export * from "./promotion.ts";
export * from "./online-store/index.ts";
export * from "./signing.ts";
export * from "./schemas/oip.ts";
export * from "./schemas/feedback.ts";
