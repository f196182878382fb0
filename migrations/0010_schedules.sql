CREATE TABLE `schedule_runs` (
	`schedule_id` text NOT NULL,
	`occurrence` text NOT NULL,
	`reason` text NOT NULL,
	`status` text NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`runner` text,
	`lease_until` integer,
	`next_attempt_at` integer,
	`result` text,
	`error` text,
	`fingerprint` text,
	`attempts` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`finished_at` text,
	PRIMARY KEY(`schedule_id`, `occurrence`)
);
--> statement-breakpoint
CREATE INDEX `schedule_runs_by_status` ON `schedule_runs` (`status`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`spec` text NOT NULL,
	`paused` integer DEFAULT false NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`active_since` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`created_by` text NOT NULL
);
