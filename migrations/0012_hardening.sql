CREATE TABLE `settings` (
	`name` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `deliveries` ADD `claimed_until` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `claim_token` text;