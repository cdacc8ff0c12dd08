-- +goose Up
-- modify "accounts" table
ALTER TABLE `accounts` ADD COLUMN `identity_level` enum('P0','P5','P9') NOT NULL DEFAULT 'P0';
-- modify "invitations" table
ALTER TABLE `invitations` ADD COLUMN `invited_by_account_id` char(28) NULL, ADD COLUMN `send_count` bigint NOT NULL DEFAULT 1, ADD COLUMN `last_sent_at` datetime(6) NOT NULL, ADD COLUMN `failed_checks` bigint NOT NULL DEFAULT 0;
-- modify "sessions" table
ALTER TABLE `sessions` ADD COLUMN `identity_level` enum('P0','P5','P9') NOT NULL DEFAULT 'P0', ADD COLUMN `method` enum('PASSWORD','NHS_LOGIN') NOT NULL DEFAULT 'PASSWORD';
-- create "email_changes" table
CREATE TABLE `email_changes` (`id` char(28) NOT NULL, `account_id` char(28) NOT NULL, `new_email` varchar(254) NOT NULL, `token_hash` char(64) NOT NULL, `created_at` datetime(6) NOT NULL, `expires_at` datetime(6) NOT NULL, `confirmed_at` datetime(6) NULL, PRIMARY KEY (`id`), INDEX `emailchange_account_id` (`account_id`), UNIQUE INDEX `token_hash` (`token_hash`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- create "mail_messages" table
CREATE TABLE `mail_messages` (`id` char(28) NOT NULL, `recipient` varchar(254) NOT NULL, `subject` varchar(255) NOT NULL, `text_body` longtext NOT NULL, `kind` varchar(255) NOT NULL, `created_at` datetime(6) NOT NULL, `next_attempt_at` datetime(6) NOT NULL, `claimed_until` datetime(6) NULL, `attempts` bigint NOT NULL DEFAULT 0, `sent_at` datetime(6) NULL, `abandoned_at` datetime(6) NULL, `last_error` longtext NULL, PRIMARY KEY (`id`), INDEX `mailmessage_sent_at_abandoned_at_next_attempt_at` (`sent_at`, `abandoned_at`, `next_attempt_at`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- create "oidc_logins" table
CREATE TABLE `oidc_logins` (`id` char(28) NOT NULL, `state_hash` char(64) NOT NULL, `nonce` varchar(255) NOT NULL, `code_verifier` varchar(255) NOT NULL, `return_to` varchar(255) NULL, `created_at` datetime(6) NOT NULL, `expires_at` datetime(6) NOT NULL, `used_at` datetime(6) NULL, PRIMARY KEY (`id`), UNIQUE INDEX `state_hash` (`state_hash`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- create "sign_in_throttles" table
CREATE TABLE `sign_in_throttles` (`id` char(28) NOT NULL, `key_hash` char(64) NOT NULL, `failures` bigint NOT NULL DEFAULT 0, `locked_until` datetime(6) NULL, `updated_at` datetime(6) NOT NULL, PRIMARY KEY (`id`), UNIQUE INDEX `key_hash` (`key_hash`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;

-- +goose Down
-- reverse: create "sign_in_throttles" table
DROP TABLE `sign_in_throttles`;
-- reverse: create "oidc_logins" table
DROP TABLE `oidc_logins`;
-- reverse: create "mail_messages" table
DROP TABLE `mail_messages`;
-- reverse: create "email_changes" table
DROP TABLE `email_changes`;
-- reverse: modify "sessions" table
ALTER TABLE `sessions` DROP COLUMN `method`, DROP COLUMN `identity_level`;
-- reverse: modify "invitations" table
ALTER TABLE `invitations` DROP COLUMN `failed_checks`, DROP COLUMN `last_sent_at`, DROP COLUMN `send_count`, DROP COLUMN `invited_by_account_id`;
-- reverse: modify "accounts" table
ALTER TABLE `accounts` DROP COLUMN `identity_level`;
