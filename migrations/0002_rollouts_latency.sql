CREATE TABLE `promotion_rules` (
	`model_id` integer PRIMARY KEY NOT NULL,
	`rule` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `rollouts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model_id` integer NOT NULL,
	`alias` text NOT NULL,
	`candidate` integer NOT NULL,
	`baseline` integer,
	`steps` text NOT NULL,
	`interval_s` integer NOT NULL,
	`step` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`previous_deployment` text,
	`step_started_at` integer NOT NULL,
	`last_decision` text,
	`actor` text NOT NULL,
	`reason` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `rollouts_by_status` ON `rollouts` (`status`,`model_id`);--> statement-breakpoint
CREATE TABLE `rollup_latency` (
	`minute` integer NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`variant` text NOT NULL,
	`shadow` integer NOT NULL,
	`bucket` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`model`, `version`, `variant`, `shadow`, `minute`, `bucket`)
);
--> statement-breakpoint
ALTER TABLE `ingested` ADD `latency_bucket` integer DEFAULT 0 NOT NULL;