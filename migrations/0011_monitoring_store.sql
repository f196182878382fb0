CREATE TABLE `concept_cursors` (
	`model` text NOT NULL,
	`day` integer NOT NULL,
	`sub` integer NOT NULL,
	`seq` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`model`, `day`, `sub`)
);
--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`reason` text NOT NULL,
	`messages` integer NOT NULL,
	`object_key` text NOT NULL,
	`status` text DEFAULT 'dead' NOT NULL,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`redriven_at` text,
	`redriven_by` text
);
--> statement-breakpoint
CREATE INDEX `dead_letters_by_status` ON `dead_letters` (`status`,`received_at`);--> statement-breakpoint
CREATE TABLE `log_settings` (
	`model_id` integer PRIMARY KEY NOT NULL,
	`redact` text NOT NULL,
	`salt` text NOT NULL,
	`retention_days` integer,
	`subshards` integer,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `rollup_shards` (
	`model` text NOT NULL,
	`day` integer NOT NULL,
	`sub` integer NOT NULL,
	`subs` integer NOT NULL,
	`next_maintenance_at` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`model`, `day`, `sub`)
);
--> statement-breakpoint
CREATE INDEX `rollup_shards_due` ON `rollup_shards` (`next_maintenance_at`);--> statement-breakpoint
ALTER TABLE `concept_state` ADD `revision` integer DEFAULT 0 NOT NULL;