CREATE TABLE `concept_state` (
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`state` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`model`, `version`)
);
