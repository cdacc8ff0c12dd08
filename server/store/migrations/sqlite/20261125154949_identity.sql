-- +goose NO TRANSACTION
-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_accounts" table
CREATE TABLE `new_accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `email` text NOT NULL, `display_name` text NOT NULL, `password_hash` text NULL, `identity_level` text NOT NULL DEFAULT ('P0'), `oidc_subject` text NULL, `disabled_at` datetime NULL, PRIMARY KEY (`id`));
-- copy rows from old table "accounts" to new temporary table "new_accounts"
INSERT INTO `new_accounts` (`id`, `created_at`, `updated_at`, `email`, `display_name`, `password_hash`, `oidc_subject`, `disabled_at`) SELECT `id`, `created_at`, `updated_at`, `email`, `display_name`, `password_hash`, `oidc_subject`, `disabled_at` FROM `accounts`;
-- drop "accounts" table after copying rows
DROP TABLE `accounts`;
-- rename temporary table "new_accounts" to "accounts"
ALTER TABLE `new_accounts` RENAME TO `accounts`;
-- create index "accounts_email_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_email_key` ON `accounts` (`email`);
-- create index "accounts_oidc_subject_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_oidc_subject_key` ON `accounts` (`oidc_subject`);
-- create "new_invitations" table
CREATE TABLE `new_invitations` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `purpose` text NOT NULL, `email` text NOT NULL, `token_hash` text NOT NULL, `invited_by_account_id` text NULL, `send_count` integer NOT NULL DEFAULT (1), `last_sent_at` datetime NOT NULL, `failed_checks` integer NOT NULL DEFAULT (0), `expires_at` datetime NOT NULL, `accepted_at` datetime NULL, `revoked_at` datetime NULL, `organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `invitations_organisations_organisation` FOREIGN KEY (`organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `invitations_patients_invitations` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- copy rows from old table "invitations" to new temporary table "new_invitations"
INSERT INTO `new_invitations` (`id`, `created_at`, `updated_at`, `purpose`, `email`, `token_hash`, `expires_at`, `accepted_at`, `revoked_at`, `organisation_id`, `patient_id`) SELECT `id`, `created_at`, `updated_at`, `purpose`, `email`, `token_hash`, `expires_at`, `accepted_at`, `revoked_at`, `organisation_id`, `patient_id` FROM `invitations`;
-- drop "invitations" table after copying rows
DROP TABLE `invitations`;
-- rename temporary table "new_invitations" to "invitations"
ALTER TABLE `new_invitations` RENAME TO `invitations`;
-- create index "invitations_token_hash_key" to table: "invitations"
CREATE UNIQUE INDEX `invitations_token_hash_key` ON `invitations` (`token_hash`);
-- create index "invitation_patient_id_created_at" to table: "invitations"
CREATE INDEX `invitation_patient_id_created_at` ON `invitations` (`patient_id`, `created_at`);
-- create index "invitation_email" to table: "invitations"
CREATE INDEX `invitation_email` ON `invitations` (`email`);
-- create "new_sessions" table
CREATE TABLE `new_sessions` (`id` text NOT NULL, `token_hash` text NOT NULL, `created_at` datetime NOT NULL, `last_seen_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `identity_level` text NOT NULL DEFAULT ('P0'), `method` text NOT NULL DEFAULT ('PASSWORD'), `ended_at` datetime NULL, `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `sessions_accounts_sessions` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- copy rows from old table "sessions" to new temporary table "new_sessions"
INSERT INTO `new_sessions` (`id`, `token_hash`, `created_at`, `last_seen_at`, `expires_at`, `ended_at`, `account_id`) SELECT `id`, `token_hash`, `created_at`, `last_seen_at`, `expires_at`, `ended_at`, `account_id` FROM `sessions`;
-- drop "sessions" table after copying rows
DROP TABLE `sessions`;
-- rename temporary table "new_sessions" to "sessions"
ALTER TABLE `new_sessions` RENAME TO `sessions`;
-- create index "sessions_token_hash_key" to table: "sessions"
CREATE UNIQUE INDEX `sessions_token_hash_key` ON `sessions` (`token_hash`);
-- create index "session_account_id_ended_at" to table: "sessions"
CREATE INDEX `session_account_id_ended_at` ON `sessions` (`account_id`, `ended_at`);
-- create "email_changes" table
CREATE TABLE `email_changes` (`id` text NOT NULL, `account_id` text NOT NULL, `new_email` text NOT NULL, `token_hash` text NOT NULL, `created_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `confirmed_at` datetime NULL, PRIMARY KEY (`id`));
-- create index "email_changes_token_hash_key" to table: "email_changes"
CREATE UNIQUE INDEX `email_changes_token_hash_key` ON `email_changes` (`token_hash`);
-- create index "emailchange_account_id" to table: "email_changes"
CREATE INDEX `emailchange_account_id` ON `email_changes` (`account_id`);
-- create "mail_messages" table
CREATE TABLE `mail_messages` (`id` text NOT NULL, `recipient` text NOT NULL, `subject` text NOT NULL, `text_body` text NOT NULL, `kind` text NOT NULL, `created_at` datetime NOT NULL, `next_attempt_at` datetime NOT NULL, `claimed_until` datetime NULL, `attempts` integer NOT NULL DEFAULT (0), `sent_at` datetime NULL, `abandoned_at` datetime NULL, `last_error` text NULL, PRIMARY KEY (`id`));
-- create index "mailmessage_sent_at_abandoned_at_next_attempt_at" to table: "mail_messages"
CREATE INDEX `mailmessage_sent_at_abandoned_at_next_attempt_at` ON `mail_messages` (`sent_at`, `abandoned_at`, `next_attempt_at`);
-- create "oidc_logins" table
CREATE TABLE `oidc_logins` (`id` text NOT NULL, `state_hash` text NOT NULL, `nonce` text NOT NULL, `code_verifier` text NOT NULL, `return_to` text NULL, `created_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, PRIMARY KEY (`id`));
-- create index "oidc_logins_state_hash_key" to table: "oidc_logins"
CREATE UNIQUE INDEX `oidc_logins_state_hash_key` ON `oidc_logins` (`state_hash`);
-- create "sign_in_throttles" table
CREATE TABLE `sign_in_throttles` (`id` text NOT NULL, `key_hash` text NOT NULL, `failures` integer NOT NULL DEFAULT (0), `locked_until` datetime NULL, `updated_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- create index "sign_in_throttles_key_hash_key" to table: "sign_in_throttles"
CREATE UNIQUE INDEX `sign_in_throttles_key_hash_key` ON `sign_in_throttles` (`key_hash`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "sign_in_throttles_key_hash_key" to table: "sign_in_throttles"
DROP INDEX `sign_in_throttles_key_hash_key`;
-- reverse: create "sign_in_throttles" table
DROP TABLE `sign_in_throttles`;
-- reverse: create index "oidc_logins_state_hash_key" to table: "oidc_logins"
DROP INDEX `oidc_logins_state_hash_key`;
-- reverse: create "oidc_logins" table
DROP TABLE `oidc_logins`;
-- reverse: create index "mailmessage_sent_at_abandoned_at_next_attempt_at" to table: "mail_messages"
DROP INDEX `mailmessage_sent_at_abandoned_at_next_attempt_at`;
-- reverse: create "mail_messages" table
DROP TABLE `mail_messages`;
-- reverse: create index "emailchange_account_id" to table: "email_changes"
DROP INDEX `emailchange_account_id`;
-- reverse: create index "email_changes_token_hash_key" to table: "email_changes"
DROP INDEX `email_changes_token_hash_key`;
-- reverse: create "email_changes" table
DROP TABLE `email_changes`;
-- reverse: create index "session_account_id_ended_at" to table: "sessions"
DROP INDEX `session_account_id_ended_at`;
-- reverse: create index "sessions_token_hash_key" to table: "sessions"
DROP INDEX `sessions_token_hash_key`;
-- reverse: create "new_sessions" table
DROP TABLE `new_sessions`;
-- reverse: create index "invitation_email" to table: "invitations"
DROP INDEX `invitation_email`;
-- reverse: create index "invitation_patient_id_created_at" to table: "invitations"
DROP INDEX `invitation_patient_id_created_at`;
-- reverse: create index "invitations_token_hash_key" to table: "invitations"
DROP INDEX `invitations_token_hash_key`;
-- reverse: create "new_invitations" table
DROP TABLE `new_invitations`;
-- reverse: create index "accounts_oidc_subject_key" to table: "accounts"
DROP INDEX `accounts_oidc_subject_key`;
-- reverse: create index "accounts_email_key" to table: "accounts"
DROP INDEX `accounts_email_key`;
-- reverse: create "new_accounts" table
DROP TABLE `new_accounts`;
