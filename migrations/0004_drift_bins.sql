CREATE TABLE `rollup_bins` (
	`minute` integer NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`variant` text NOT NULL,
	`shadow` integer NOT NULL,
	`feature` text NOT NULL,
	`bin` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`model`, `version`, `feature`, `minute`, `variant`, `shadow`, `bin`)
);
--> statement-breakpoint
ALTER TABLE `ingested` ADD `bins` text DEFAULT '[]' NOT NULL;