ALTER TABLE `ingested` ADD `request_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `ingested` ADD `score` real;--> statement-breakpoint
CREATE INDEX `ingested_by_request` ON `ingested` (`request_id`);