CREATE TABLE `feedback` (
	`target` text PRIMARY KEY NOT NULL,
	`label` real NOT NULL,
	`ts` integer NOT NULL,
	`key_id` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `feedback_by_ts` ON `feedback` (`ts`);