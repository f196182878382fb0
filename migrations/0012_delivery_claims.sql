ALTER TABLE `deliveries` ADD `claimed_until` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `claim_token` text;