CREATE TABLE `alias_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model_id` integer NOT NULL,
	`alias` text NOT NULL,
	`from_version` integer,
	`to_version` integer NOT NULL,
	`actor` text NOT NULL,
	`reason` text,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `alias_events_by_alias` ON `alias_events` (`model_id`,`alias`,`id`);--> statement-breakpoint
CREATE TABLE `aliases` (
	`model_id` integer NOT NULL,
	`alias` text NOT NULL,
	`version` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`model_id`, `alias`),
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`hash` text NOT NULL,
	`models` text NOT NULL,
	`rate_limit` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE TABLE `audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL,
	`before` text,
	`after` text
);
--> statement-breakpoint
CREATE INDEX `audit_by_target` ON `audit` (`target`,`id`);--> statement-breakpoint
CREATE TABLE `counters` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `deployments` (
	`model_id` integer PRIMARY KEY NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`spec` text NOT NULL,
	`allocation` text NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `ingested` (
	`key` text PRIMARY KEY NOT NULL,
	`batch` text NOT NULL,
	`minute` integer NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`variant` text NOT NULL,
	`shadow` integer NOT NULL,
	`error` integer NOT NULL,
	`latency_ms` real NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ingested_by_batch` ON `ingested` (`batch`);--> statement-breakpoint
CREATE INDEX `ingested_by_minute` ON `ingested` (`minute`);--> statement-breakpoint
CREATE TABLE `models` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`task` text NOT NULL,
	`description` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `models_name_unique` ON `models` (`name`);--> statement-breakpoint
CREATE TABLE `preconditions` (
	`id` integer PRIMARY KEY NOT NULL,
	`ok` integer NOT NULL,
	CONSTRAINT "precondition" CHECK("preconditions"."ok" = 1)
);
--> statement-breakpoint
CREATE TABLE `rollups` (
	`minute` integer NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`variant` text NOT NULL,
	`shadow` integer NOT NULL,
	`count` integer NOT NULL,
	`errors` integer NOT NULL,
	`latency_sum_ms` real NOT NULL,
	`latency_max_ms` real NOT NULL,
	PRIMARY KEY(`model`, `version`, `variant`, `shadow`, `minute`)
);
--> statement-breakpoint
CREATE TABLE `versions` (
	`model_id` integer NOT NULL,
	`version` integer NOT NULL,
	`runtime` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`artifact_key` text NOT NULL,
	`metadata` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`model_id`, `version`),
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
