CREATE TABLE `drift_settings` (
	`model_id` integer PRIMARY KEY NOT NULL,
	`thresholds` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action
);
