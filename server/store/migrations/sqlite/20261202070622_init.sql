-- +goose Up
-- create "api_keys" table
CREATE TABLE `api_keys` (`id` text NOT NULL, `organisation_id` text NOT NULL, `key_hash` text NOT NULL, `hint` text NOT NULL, `created_at` datetime NOT NULL, `revoked_at` datetime NULL, `last_used_at` datetime NULL, PRIMARY KEY (`id`));
-- create index "api_keys_key_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX `api_keys_key_hash_key` ON `api_keys` (`key_hash`);
-- create index "apikey_organisation_id" to table: "api_keys"
CREATE INDEX `apikey_organisation_id` ON `api_keys` (`organisation_id`);
-- create "accounts" table
CREATE TABLE `accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `email` text NOT NULL, `display_name` text NOT NULL, `password_hash` text NULL, `identity_level` text NOT NULL DEFAULT ('P0'), `oidc_subject` text NULL, `disabled_at` datetime NULL, `notification_email` text NOT NULL DEFAULT ('DAILY'), `last_digest_at` datetime NULL, PRIMARY KEY (`id`));
-- create index "accounts_email_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_email_key` ON `accounts` (`email`);
-- create index "accounts_oidc_subject_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_oidc_subject_key` ON `accounts` (`oidc_subject`);
-- create "allergies" table
CREATE TABLE `allergies` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `kind` text NOT NULL DEFAULT ('ALLERGY'), `substance` text NOT NULL, `reaction` text NULL, `severity` text NULL, `criticality` text NULL, `status` text NOT NULL DEFAULT ('ACTIVE'), `recorded_by` text NOT NULL, `recorder` text NULL, `recorded_at` datetime NOT NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `allergies_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `allergies_patients_allergies` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "allergy_patient_id_category" to table: "allergies"
CREATE INDEX `allergy_patient_id_category` ON `allergies` (`patient_id`, `category`);
-- create index "allergy_source_organisation_id_external_system_external_value" to table: "allergies"
CREATE UNIQUE INDEX `allergy_source_organisation_id_external_system_external_value` ON `allergies` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "allergy_patient_id_recorded_at" to table: "allergies"
CREATE INDEX `allergy_patient_id_recorded_at` ON `allergies` (`patient_id`, `recorded_at`);
-- create "appointments" table
CREATE TABLE `appointments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `starts_at` datetime NOT NULL, `duration_minutes` integer NOT NULL DEFAULT (15), `status` text NOT NULL DEFAULT ('BOOKED'), `title` text NOT NULL, `specialty` text NULL, `clinic` text NULL, `clinic_code` text NULL, `site` text NULL, `address` text NULL, `clinician` text NULL, `instructions` text NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `appointments_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `appointments_patients_appointments` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "appointment_patient_id_category" to table: "appointments"
CREATE INDEX `appointment_patient_id_category` ON `appointments` (`patient_id`, `category`);
-- create index "appointment_source_organisation_0a9063b7befeb2dca8d76cffbf9213a1" to table: "appointments"
CREATE UNIQUE INDEX `appointment_source_organisation_0a9063b7befeb2dca8d76cffbf9213a1` ON `appointments` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "appointment_patient_id_starts_at" to table: "appointments"
CREATE INDEX `appointment_patient_id_starts_at` ON `appointments` (`patient_id`, `starts_at`);
-- create index "appointment_source_organisation_id_status_specialty_starts_at" to table: "appointments"
CREATE INDEX `appointment_source_organisation_id_status_specialty_starts_at` ON `appointments` (`source_organisation_id`, `status`, `specialty`, `starts_at`);
-- create "appointment_change_requests" table
CREATE TABLE `appointment_change_requests` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `kind` text NOT NULL, `reason` text NULL, `preferred_times` json NULL, `status` text NOT NULL DEFAULT ('OPEN'), `answer` text NULL, `answered_at` datetime NULL, `appointment_id` text NOT NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `appointment_change_requests_appointments_change_requests` FOREIGN KEY (`appointment_id`) REFERENCES `appointments` (`id`) ON DELETE NO ACTION, CONSTRAINT `appointment_change_requests_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `appointment_change_requests_patients_appointment_change_requests` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "appointmentchangerequest_patient_id_category" to table: "appointment_change_requests"
CREATE INDEX `appointmentchangerequest_patient_id_category` ON `appointment_change_requests` (`patient_id`, `category`);
-- create index "appointmentchangerequest_source_9c4896ac25a5e0d498941b00157551a3" to table: "appointment_change_requests"
CREATE UNIQUE INDEX `appointmentchangerequest_source_9c4896ac25a5e0d498941b00157551a3` ON `appointment_change_requests` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "appointmentchangerequest_appointment_id" to table: "appointment_change_requests"
CREATE INDEX `appointmentchangerequest_appointment_id` ON `appointment_change_requests` (`appointment_id`);
-- create index "appointmentchangerequest_source_organisation_id_status" to table: "appointment_change_requests"
CREATE INDEX `appointmentchangerequest_source_organisation_id_status` ON `appointment_change_requests` (`source_organisation_id`, `status`);
-- create "audit_events" table
CREATE TABLE `audit_events` (`id` text NOT NULL, `actor_account_id` text NULL, `actor_organisation_id` text NULL, `action` text NOT NULL, `record_kinds` json NULL, `share_id` text NULL, `break_glass` bool NOT NULL DEFAULT (false), `reason` text NULL, `client_address` text NULL, `at` datetime NOT NULL, `patient_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `audit_events_patients_audit_events` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE SET NULL);
-- create index "auditevent_patient_id_at" to table: "audit_events"
CREATE INDEX `auditevent_patient_id_at` ON `audit_events` (`patient_id`, `at`);
-- create index "auditevent_actor_account_id_at" to table: "audit_events"
CREATE INDEX `auditevent_actor_account_id_at` ON `audit_events` (`actor_account_id`, `at`);
-- create index "auditevent_actor_organisation_id_at" to table: "audit_events"
CREATE INDEX `auditevent_actor_organisation_id_at` ON `audit_events` (`actor_organisation_id`, `at`);
-- create "break_glasses" table
CREATE TABLE `break_glasses` (`id` text NOT NULL, `account_id` text NOT NULL, `organisation_id` text NOT NULL, `reason` text NOT NULL, `started_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `break_glasses_patients_break_glasses` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "breakglass_patient_id_started_at" to table: "break_glasses"
CREATE INDEX `breakglass_patient_id_started_at` ON `break_glasses` (`patient_id`, `started_at`);
-- create index "breakglass_account_id_expires_at" to table: "break_glasses"
CREATE INDEX `breakglass_account_id_expires_at` ON `break_glasses` (`account_id`, `expires_at`);
-- create "care_resources" table
CREATE TABLE `care_resources` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `title` text NOT NULL, `description` text NULL, `link` text NULL, `body` text NULL, `tags` json NULL, `assigned_at` datetime NOT NULL, `completed_at` datetime NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `care_resources_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `care_resources_patients_care_resources` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "careresource_patient_id_category" to table: "care_resources"
CREATE INDEX `careresource_patient_id_category` ON `care_resources` (`patient_id`, `category`);
-- create index "careresource_source_organisatio_c42b53b03c0e108b34a4270b81e8dd58" to table: "care_resources"
CREATE UNIQUE INDEX `careresource_source_organisatio_c42b53b03c0e108b34a4270b81e8dd58` ON `care_resources` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "careresource_patient_id_assigned_at" to table: "care_resources"
CREATE INDEX `careresource_patient_id_assigned_at` ON `care_resources` (`patient_id`, `assigned_at`);
-- create "contact_preferences" table
CREATE TABLE `contact_preferences` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `post` bool NOT NULL DEFAULT (true), `sms` bool NOT NULL DEFAULT (false), `email` bool NOT NULL DEFAULT (false), `organisation_id` text NOT NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `contact_preferences_organisations_organisation` FOREIGN KEY (`organisation_id`) REFERENCES `organisations` (`id`) ON DELETE NO ACTION, CONSTRAINT `contact_preferences_patients_contact_preferences` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "contactpreference_patient_id_organisation_id" to table: "contact_preferences"
CREATE UNIQUE INDEX `contactpreference_patient_id_organisation_id` ON `contact_preferences` (`patient_id`, `organisation_id`);
-- create "directory_entries" table
CREATE TABLE `directory_entries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `organisation_id` text NOT NULL, `resource_type` text NOT NULL, `source` text NOT NULL, `fhir_id` text NULL, `identifiers` json NULL, `name` text NOT NULL DEFAULT (''), `detail` text NULL, PRIMARY KEY (`id`));
-- create index "directoryentry_organisation_id_resource_type_source" to table: "directory_entries"
CREATE UNIQUE INDEX `directoryentry_organisation_id_resource_type_source` ON `directory_entries` (`organisation_id`, `resource_type`, `source`);
-- create index "directoryentry_organisation_id_resource_type_fhir_id" to table: "directory_entries"
CREATE INDEX `directoryentry_organisation_id_resource_type_fhir_id` ON `directory_entries` (`organisation_id`, `resource_type`, `fhir_id`);
-- create "email_changes" table
CREATE TABLE `email_changes` (`id` text NOT NULL, `account_id` text NOT NULL, `new_email` text NOT NULL, `token_hash` text NOT NULL, `created_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `confirmed_at` datetime NULL, PRIMARY KEY (`id`));
-- create index "email_changes_token_hash_key" to table: "email_changes"
CREATE UNIQUE INDEX `email_changes_token_hash_key` ON `email_changes` (`token_hash`);
-- create index "emailchange_account_id" to table: "email_changes"
CREATE INDEX `emailchange_account_id` ON `email_changes` (`account_id`);
-- create "encounters" table
CREATE TABLE `encounters` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `kind` text NOT NULL, `status` text NOT NULL, `started_at` datetime NOT NULL, `seen_at` datetime NULL, `ended_at` datetime NULL, `site` text NULL, `ward` text NULL, `specialty` text NULL, `clinic_code` text NULL, `presenting_complaint` text NULL, `summary` text NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `encounters_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `encounters_patients_encounters` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "encounter_patient_id_category" to table: "encounters"
CREATE INDEX `encounter_patient_id_category` ON `encounters` (`patient_id`, `category`);
-- create index "encounter_source_organisation_id_external_system_external_value" to table: "encounters"
CREATE UNIQUE INDEX `encounter_source_organisation_id_external_system_external_value` ON `encounters` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "encounter_patient_id_started_at" to table: "encounters"
CREATE INDEX `encounter_patient_id_started_at` ON `encounters` (`patient_id`, `started_at`);
-- create "import_reports" table
CREATE TABLE `import_reports` (`id` text NOT NULL, `organisation_id` text NOT NULL, `api_key_id` text NOT NULL, `bundle_type` text NOT NULL, `received_at` datetime NOT NULL, `entries` integer NOT NULL DEFAULT (0), `stored` integer NOT NULL DEFAULT (0), `unchanged` integer NOT NULL DEFAULT (0), `skipped` integer NOT NULL DEFAULT (0), `refused` integer NOT NULL DEFAULT (0), `committed` bool NOT NULL, `response` text NOT NULL, PRIMARY KEY (`id`));
-- create index "importreport_api_key_id_received_at" to table: "import_reports"
CREATE INDEX `importreport_api_key_id_received_at` ON `import_reports` (`api_key_id`, `received_at`);
-- create "invitations" table
CREATE TABLE `invitations` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `purpose` text NOT NULL, `email` text NOT NULL, `token_hash` text NOT NULL, `invited_by_account_id` text NULL, `send_count` integer NOT NULL DEFAULT (1), `last_sent_at` datetime NOT NULL, `failed_checks` integer NOT NULL DEFAULT (0), `expires_at` datetime NOT NULL, `accepted_at` datetime NULL, `revoked_at` datetime NULL, `organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `invitations_organisations_organisation` FOREIGN KEY (`organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `invitations_patients_invitations` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "invitations_token_hash_key" to table: "invitations"
CREATE UNIQUE INDEX `invitations_token_hash_key` ON `invitations` (`token_hash`);
-- create index "invitation_patient_id_created_at" to table: "invitations"
CREATE INDEX `invitation_patient_id_created_at` ON `invitations` (`patient_id`, `created_at`);
-- create index "invitation_email" to table: "invitations"
CREATE INDEX `invitation_email` ON `invitations` (`email`);
-- create index "invitation_organisation_id_purpose_created_at" to table: "invitations"
CREATE INDEX `invitation_organisation_id_purpose_created_at` ON `invitations` (`organisation_id`, `purpose`, `created_at`);
-- create index "invitation_organisation_id_purpose_accepted_at_patient_id" to table: "invitations"
CREATE INDEX `invitation_organisation_id_purpose_accepted_at_patient_id` ON `invitations` (`organisation_id`, `purpose`, `accepted_at`, `patient_id`);
-- create index "invitation_registered_patients" to table: "invitations"
CREATE INDEX `invitation_registered_patients` ON `invitations` (`organisation_id`, `purpose`, `patient_id`, `accepted_at`);
-- create "journal_entries" table
CREATE TABLE `journal_entries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `title` text NOT NULL, `body` text NOT NULL, `written_at` datetime NOT NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `journal_entries_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `journal_entries_patients_journal_entries` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "journalentry_patient_id_category" to table: "journal_entries"
CREATE INDEX `journalentry_patient_id_category` ON `journal_entries` (`patient_id`, `category`);
-- create index "journalentry_source_organisatio_dbb9809f05f35083aac5708bff207cab" to table: "journal_entries"
CREATE UNIQUE INDEX `journalentry_source_organisatio_dbb9809f05f35083aac5708bff207cab` ON `journal_entries` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "journalentry_patient_id_written_at" to table: "journal_entries"
CREATE INDEX `journalentry_patient_id_written_at` ON `journal_entries` (`patient_id`, `written_at`);
-- create "letters" table
CREATE TABLE `letters` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `title` text NOT NULL, `author` text NULL, `sent_at` datetime NOT NULL, `body` text NULL, `body_format` text NOT NULL DEFAULT ('TEXT'), `document_key` text NULL, `document_type` text NULL, `document_size` integer NULL, `read_at` datetime NULL, `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `letters_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `letters_patients_letters` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "letter_patient_id_category" to table: "letters"
CREATE INDEX `letter_patient_id_category` ON `letters` (`patient_id`, `category`);
-- create index "letter_source_organisation_id_external_system_external_value" to table: "letters"
CREATE UNIQUE INDEX `letter_source_organisation_id_external_system_external_value` ON `letters` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "letter_patient_id_sent_at" to table: "letters"
CREATE INDEX `letter_patient_id_sent_at` ON `letters` (`patient_id`, `sent_at`);
-- create index "letter_source_organisation_id_sent_at_read_at" to table: "letters"
CREATE INDEX `letter_source_organisation_id_sent_at_read_at` ON `letters` (`source_organisation_id`, `sent_at`, `read_at`);
-- create "letter_reads" table
CREATE TABLE `letter_reads` (`id` text NOT NULL, `account_id` text NOT NULL, `read_at` datetime NOT NULL, `letter_id` text NOT NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `letter_reads_letters_reads` FOREIGN KEY (`letter_id`) REFERENCES `letters` (`id`) ON DELETE NO ACTION, CONSTRAINT `letter_reads_patients_letter_reads` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "letterread_patient_id_account_id" to table: "letter_reads"
CREATE INDEX `letterread_patient_id_account_id` ON `letter_reads` (`patient_id`, `account_id`);
-- create index "letterread_letter_id_account_id" to table: "letter_reads"
CREATE UNIQUE INDEX `letterread_letter_id_account_id` ON `letter_reads` (`letter_id`, `account_id`);
-- create "mail_messages" table
CREATE TABLE `mail_messages` (`id` text NOT NULL, `recipient` text NOT NULL, `subject` text NOT NULL, `text_body` text NOT NULL, `kind` text NOT NULL, `created_at` datetime NOT NULL, `next_attempt_at` datetime NOT NULL, `claimed_until` datetime NULL, `attempts` integer NOT NULL DEFAULT (0), `sent_at` datetime NULL, `abandoned_at` datetime NULL, `last_error` text NULL, PRIMARY KEY (`id`));
-- create index "mailmessage_sent_at_abandoned_at_next_attempt_at" to table: "mail_messages"
CREATE INDEX `mailmessage_sent_at_abandoned_at_next_attempt_at` ON `mail_messages` (`sent_at`, `abandoned_at`, `next_attempt_at`);
-- create "measurements" table
CREATE TABLE `measurements` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `type` text NOT NULL, `measured_at` datetime NOT NULL, `value` real NOT NULL, `value2` real NULL, `unit` text NOT NULL, `device` text NOT NULL DEFAULT (''), `source_organisation_id` text NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `measurements_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `measurements_patients_measurements` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "measurement_patient_id_category" to table: "measurements"
CREATE INDEX `measurement_patient_id_category` ON `measurements` (`patient_id`, `category`);
-- create index "measurement_source_organisation_697dbfb0b23dc3b3d6d79eb666f0f0b0" to table: "measurements"
CREATE UNIQUE INDEX `measurement_source_organisation_697dbfb0b23dc3b3d6d79eb666f0f0b0` ON `measurements` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "measurement_patient_id_type_measured_at_device" to table: "measurements"
CREATE UNIQUE INDEX `measurement_patient_id_type_measured_at_device` ON `measurements` (`patient_id`, `type`, `measured_at`, `device`);
-- create "measurement_rollups" table
CREATE TABLE `measurement_rollups` (`id` text NOT NULL, `type` text NOT NULL, `category` text NOT NULL, `hour` datetime NOT NULL, `count` integer NOT NULL, `sum` real NOT NULL, `min` real NOT NULL, `max` real NOT NULL, `below` integer NOT NULL DEFAULT (0), `above` integer NOT NULL DEFAULT (0), `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `measurement_rollups_patients_measurement_rollups` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "measurementrollup_patient_id_type_hour_category" to table: "measurement_rollups"
CREATE UNIQUE INDEX `measurementrollup_patient_id_type_hour_category` ON `measurement_rollups` (`patient_id`, `type`, `hour`, `category`);
-- create index "measurementrollup_patient_id_ty_49b5ce0cc311faf516e466b3a5f68f5a" to table: "measurement_rollups"
CREATE INDEX `measurementrollup_patient_id_ty_49b5ce0cc311faf516e466b3a5f68f5a` ON `measurement_rollups` (`patient_id`, `type`, `hour`, `category`, `count`, `sum`, `min`, `max`, `below`, `above`);
-- create "memberships" table
CREATE TABLE `memberships` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `role` text NOT NULL, `account_id` text NOT NULL, `organisation_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `memberships_accounts_memberships` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `memberships_organisations_memberships` FOREIGN KEY (`organisation_id`) REFERENCES `organisations` (`id`) ON DELETE NO ACTION);
-- create index "membership_account_id_organisation_id_role" to table: "memberships"
CREATE UNIQUE INDEX `membership_account_id_organisation_id_role` ON `memberships` (`account_id`, `organisation_id`, `role`);
-- create index "membership_organisation_id_role" to table: "memberships"
CREATE INDEX `membership_organisation_id_role` ON `memberships` (`organisation_id`, `role`);
-- create "notifications" table
CREATE TABLE `notifications` (`id` text NOT NULL, `kind` text NOT NULL, `category` text NOT NULL DEFAULT ('GENERAL'), `subject_id` text NULL, `created_at` datetime NOT NULL, `read_at` datetime NULL, `email_due_at` datetime NULL, `emailed_at` datetime NULL, `reminder_due_at` datetime NULL, `recipient_account_id` text NOT NULL, `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `notifications_accounts_recipient` FOREIGN KEY (`recipient_account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `notifications_patients_notifications` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "notification_recipient_account_id_created_at" to table: "notifications"
CREATE INDEX `notification_recipient_account_id_created_at` ON `notifications` (`recipient_account_id`, `created_at`);
-- create index "notification_patient_id_category" to table: "notifications"
CREATE INDEX `notification_patient_id_category` ON `notifications` (`patient_id`, `category`);
-- create index "notification_email_due_at" to table: "notifications"
CREATE INDEX `notification_email_due_at` ON `notifications` (`email_due_at`);
-- create index "notification_reminder_due_at" to table: "notifications"
CREATE INDEX `notification_reminder_due_at` ON `notifications` (`reminder_due_at`);
-- create "oidc_logins" table
CREATE TABLE `oidc_logins` (`id` text NOT NULL, `state_hash` text NOT NULL, `nonce` text NOT NULL, `code_verifier` text NOT NULL, `return_to` text NULL, `created_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, PRIMARY KEY (`id`));
-- create index "oidc_logins_state_hash_key" to table: "oidc_logins"
CREATE UNIQUE INDEX `oidc_logins_state_hash_key` ON `oidc_logins` (`state_hash`);
-- create "organisations" table
CREATE TABLE `organisations` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `ods_code` text NOT NULL, `name` text NOT NULL, `kind` text NOT NULL, `logo_url` text NULL, `welcome_message` text NULL, `phone` text NULL, `email` text NULL, `website` text NULL, `address` text NULL, `emergency_care` bool NOT NULL DEFAULT (false), `result_release_delay_hours` integer NOT NULL DEFAULT (0), `excluded_services` json NULL, PRIMARY KEY (`id`));
-- create index "organisations_ods_code_key" to table: "organisations"
CREATE UNIQUE INDEX `organisations_ods_code_key` ON `organisations` (`ods_code`);
-- create "patients" table
CREATE TABLE `patients` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `nhs_number` text NULL, `given_name` text NOT NULL, `family_name` text NOT NULL, `date_of_birth` datetime NOT NULL, `address_line1` text NULL, `address_line2` text NULL, `town` text NULL, `postcode` text NULL, `phone` text NULL, `email` text NULL, `sharing_disabled_at` datetime NULL, `glucose_low` real NULL, `glucose_high` real NULL, `sharing_disabled_by_organisation_id` text NULL, `account_id` text NULL, `invited_by_organisation_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `patients_accounts_patient` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE SET NULL, CONSTRAINT `patients_organisations_invited_by` FOREIGN KEY (`invited_by_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL);
-- create index "patients_nhs_number_key" to table: "patients"
CREATE UNIQUE INDEX `patients_nhs_number_key` ON `patients` (`nhs_number`);
-- create index "patients_account_id_key" to table: "patients"
CREATE UNIQUE INDEX `patients_account_id_key` ON `patients` (`account_id`);
-- create index "patient_family_name_date_of_birth" to table: "patients"
CREATE INDEX `patient_family_name_date_of_birth` ON `patients` (`family_name`, `date_of_birth`);
-- create "patient_activities" table
CREATE TABLE `patient_activities` (`id` text NOT NULL, `organisation_id` text NOT NULL, `period` text NOT NULL, `starts_at` datetime NOT NULL, `sign_ins` integer NOT NULL DEFAULT (0), `in_app` integer NOT NULL DEFAULT (0), `emailed` integer NOT NULL DEFAULT (0), `patient_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `patient_activities_patients_activities` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION);
-- create index "patientactivity_patient_id_organisation_id_period_starts_at" to table: "patient_activities"
CREATE UNIQUE INDEX `patientactivity_patient_id_organisation_id_period_starts_at` ON `patient_activities` (`patient_id`, `organisation_id`, `period`, `starts_at`);
-- create index "patientactivity_organisation_id_60d192d7a7f082639b62042101e2c35e" to table: "patient_activities"
CREATE INDEX `patientactivity_organisation_id_60d192d7a7f082639b62042101e2c35e` ON `patient_activities` (`organisation_id`, `period`, `starts_at`, `sign_ins`, `in_app`, `emailed`);
-- create "patient_organisations" table
CREATE TABLE `patient_organisations` (`local_identifier` text NULL, `fhir_id` text NULL, `linked_at` datetime NOT NULL, `patient_id` text NOT NULL, `organisation_id` text NOT NULL, PRIMARY KEY (`patient_id`, `organisation_id`), CONSTRAINT `patient_organisations_patients_patient` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION, CONSTRAINT `patient_organisations_organisations_organisation` FOREIGN KEY (`organisation_id`) REFERENCES `organisations` (`id`) ON DELETE NO ACTION);
-- create index "patientorganisation_organisation_id_local_identifier" to table: "patient_organisations"
CREATE INDEX `patientorganisation_organisation_id_local_identifier` ON `patient_organisations` (`organisation_id`, `local_identifier`);
-- create index "patientorganisation_organisation_id_patient_id" to table: "patient_organisations"
CREATE INDEX `patientorganisation_organisation_id_patient_id` ON `patient_organisations` (`organisation_id`, `patient_id`);
-- create "research_consents" table
CREATE TABLE `research_consents` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `consented_at` datetime NOT NULL, `withdrawn_at` datetime NULL, `categories` json NULL, `patient_id` text NOT NULL, `study_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `research_consents_patients_research_consents` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION, CONSTRAINT `research_consents_research_studies_study` FOREIGN KEY (`study_id`) REFERENCES `research_studies` (`id`) ON DELETE NO ACTION);
-- create index "researchconsent_patient_id_study_id" to table: "research_consents"
CREATE UNIQUE INDEX `researchconsent_patient_id_study_id` ON `research_consents` (`patient_id`, `study_id`);
-- create index "researchconsent_study_id_withdrawn_at" to table: "research_consents"
CREATE INDEX `researchconsent_study_id_withdrawn_at` ON `research_consents` (`study_id`, `withdrawn_at`);
-- create "research_studies" table
CREATE TABLE `research_studies` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `title` text NOT NULL, `description` text NULL, `open` bool NOT NULL DEFAULT (true), `pseudonym_key` blob NOT NULL, `organisation_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `research_studies_organisations_organisation` FOREIGN KEY (`organisation_id`) REFERENCES `organisations` (`id`) ON DELETE NO ACTION);
-- create "results" table
CREATE TABLE `results` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `name` text NOT NULL, `code` text NULL, `status` text NOT NULL DEFAULT ('FINAL'), `taken_at` datetime NOT NULL, `reported_at` datetime NOT NULL, `release_at` datetime NULL, `released_at` datetime NULL, `never_release` bool NOT NULL DEFAULT (false), `visible_from` datetime NULL, `release_delay` integer NULL, `release_month` datetime NULL, `release_quarter` datetime NULL, `release_year` datetime NULL, `notify_at` datetime NULL, `conclusion` text NULL, `performing_laboratory` text NULL, `patient_id` text NOT NULL, `source_organisation_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `results_patients_results` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION, CONSTRAINT `results_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL);
-- create index "result_patient_id_category" to table: "results"
CREATE INDEX `result_patient_id_category` ON `results` (`patient_id`, `category`);
-- create index "result_source_organisation_id_external_system_external_value" to table: "results"
CREATE UNIQUE INDEX `result_source_organisation_id_external_system_external_value` ON `results` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "result_patient_id_reported_at" to table: "results"
CREATE INDEX `result_patient_id_reported_at` ON `results` (`patient_id`, `reported_at`);
-- create index "result_notify_at" to table: "results"
CREATE INDEX `result_notify_at` ON `results` (`notify_at`);
-- create index "result_source_organisation_id_visible_from" to table: "results"
CREATE INDEX `result_source_organisation_id_visible_from` ON `results` (`source_organisation_id`, `visible_from`, `release_delay`, `patient_id`);
-- create index "result_release_month_delay" to table: "results"
CREATE INDEX `result_release_month_delay` ON `results` (`source_organisation_id`, `release_month`, `release_delay`, `visible_from`);
-- create index "result_release_quarter_delay" to table: "results"
CREATE INDEX `result_release_quarter_delay` ON `results` (`source_organisation_id`, `release_quarter`, `release_delay`, `visible_from`);
-- create index "result_release_year_delay" to table: "results"
CREATE INDEX `result_release_year_delay` ON `results` (`source_organisation_id`, `release_year`, `release_delay`, `visible_from`);
-- create "result_components" table
CREATE TABLE `result_components` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `name` text NOT NULL, `code` text NULL, `value_numeric` real NULL, `value_text` text NULL, `comparator` text NULL, `unit` text NULL, `reference_low` real NULL, `reference_high` real NULL, `reference_text` text NULL, `flag` text NULL, `patient_id` text NOT NULL, `result_id` text NOT NULL, `source_organisation_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `result_components_patients_result_components` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION, CONSTRAINT `result_components_results_components` FOREIGN KEY (`result_id`) REFERENCES `results` (`id`) ON DELETE NO ACTION, CONSTRAINT `result_components_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL);
-- create index "resultcomponent_patient_id_category" to table: "result_components"
CREATE INDEX `resultcomponent_patient_id_category` ON `result_components` (`patient_id`, `category`);
-- create index "resultcomponent_source_organisa_83ff4d92333b9bb3af4f6efac23a0172" to table: "result_components"
CREATE UNIQUE INDEX `resultcomponent_source_organisa_83ff4d92333b9bb3af4f6efac23a0172` ON `result_components` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "resultcomponent_patient_id_code" to table: "result_components"
CREATE INDEX `resultcomponent_patient_id_code` ON `result_components` (`patient_id`, `code`);
-- create index "resultcomponent_result_id" to table: "result_components"
CREATE INDEX `resultcomponent_result_id` ON `result_components` (`result_id`);
-- create "sessions" table
CREATE TABLE `sessions` (`id` text NOT NULL, `token_hash` text NOT NULL, `created_at` datetime NOT NULL, `last_seen_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `identity_level` text NOT NULL DEFAULT ('P0'), `method` text NOT NULL DEFAULT ('PASSWORD'), `ended_at` datetime NULL, `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `sessions_accounts_sessions` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- create index "sessions_token_hash_key" to table: "sessions"
CREATE UNIQUE INDEX `sessions_token_hash_key` ON `sessions` (`token_hash`);
-- create index "session_account_id_ended_at" to table: "sessions"
CREATE INDEX `session_account_id_ended_at` ON `sessions` (`account_id`, `ended_at`);
-- create "shares" table
CREATE TABLE `shares` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `relationship` text NOT NULL, `mental_health` bool NOT NULL DEFAULT (false), `sexual_health` bool NOT NULL DEFAULT (false), `social_care` bool NOT NULL DEFAULT (false), `accepted_at` datetime NULL, `expires_at` datetime NULL, `revoked_at` datetime NULL, `patient_id` text NOT NULL, `grantee_account_id` text NULL, `grantee_organisation_id` text NULL, `invitation_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `shares_patients_shares` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION, CONSTRAINT `shares_accounts_grantee_account` FOREIGN KEY (`grantee_account_id`) REFERENCES `accounts` (`id`) ON DELETE SET NULL, CONSTRAINT `shares_organisations_grantee_organisation` FOREIGN KEY (`grantee_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL, CONSTRAINT `shares_invitations_invitation` FOREIGN KEY (`invitation_id`) REFERENCES `invitations` (`id`) ON DELETE SET NULL);
-- create index "share_patient_id_revoked_at" to table: "shares"
CREATE INDEX `share_patient_id_revoked_at` ON `shares` (`patient_id`, `revoked_at`);
-- create index "share_grantee_account_id_revoked_at" to table: "shares"
CREATE INDEX `share_grantee_account_id_revoked_at` ON `shares` (`grantee_account_id`, `revoked_at`);
-- create index "share_grantee_organisation_id_revoked_at" to table: "shares"
CREATE INDEX `share_grantee_organisation_id_revoked_at` ON `shares` (`grantee_organisation_id`, `revoked_at`);
-- create index "share_created_at_counted" to table: "shares"
CREATE INDEX `share_created_at_counted` ON `shares` (`created_at`, `patient_id`, `relationship`, `mental_health`, `sexual_health`, `social_care`);
-- create "sign_in_throttles" table
CREATE TABLE `sign_in_throttles` (`id` text NOT NULL, `key_hash` text NOT NULL, `failures` integer NOT NULL DEFAULT (0), `locked_until` datetime NULL, `updated_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- create index "sign_in_throttles_key_hash_key" to table: "sign_in_throttles"
CREATE UNIQUE INDEX `sign_in_throttles_key_hash_key` ON `sign_in_throttles` (`key_hash`);
-- create "specialty_rules" table
CREATE TABLE `specialty_rules` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `organisation_id` text NOT NULL, `specialty` text NULL, `clinic_code` text NULL, `category` text NOT NULL, PRIMARY KEY (`id`));
-- create index "specialtyrule_organisation_id_specialty_clinic_code" to table: "specialty_rules"
CREATE UNIQUE INDEX `specialtyrule_organisation_id_specialty_clinic_code` ON `specialty_rules` (`organisation_id`, `specialty`, `clinic_code`);
-- create "symptoms" table
CREATE TABLE `symptoms` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `assigned_category` text NULL, `external_system` text NULL, `external_value` text NULL, `name` text NOT NULL, `severity` integer NOT NULL, `occurred_at` datetime NOT NULL, `notes` text NULL, `patient_id` text NOT NULL, `source_organisation_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `symptoms_patients_symptoms` FOREIGN KEY (`patient_id`) REFERENCES `patients` (`id`) ON DELETE NO ACTION, CONSTRAINT `symptoms_organisations_source_organisation` FOREIGN KEY (`source_organisation_id`) REFERENCES `organisations` (`id`) ON DELETE SET NULL);
-- create index "symptom_patient_id_category" to table: "symptoms"
CREATE INDEX `symptom_patient_id_category` ON `symptoms` (`patient_id`, `category`);
-- create index "symptom_source_organisation_id_external_system_external_value" to table: "symptoms"
CREATE UNIQUE INDEX `symptom_source_organisation_id_external_system_external_value` ON `symptoms` (`source_organisation_id`, `external_system`, `external_value`);
-- create index "symptom_patient_id_occurred_at" to table: "symptoms"
CREATE INDEX `symptom_patient_id_occurred_at` ON `symptoms` (`patient_id`, `occurred_at`);

-- +goose Down
-- reverse: create index "symptom_patient_id_occurred_at" to table: "symptoms"
DROP INDEX `symptom_patient_id_occurred_at`;
-- reverse: create index "symptom_source_organisation_id_external_system_external_value" to table: "symptoms"
DROP INDEX `symptom_source_organisation_id_external_system_external_value`;
-- reverse: create index "symptom_patient_id_category" to table: "symptoms"
DROP INDEX `symptom_patient_id_category`;
-- reverse: create "symptoms" table
DROP TABLE `symptoms`;
-- reverse: create index "specialtyrule_organisation_id_specialty_clinic_code" to table: "specialty_rules"
DROP INDEX `specialtyrule_organisation_id_specialty_clinic_code`;
-- reverse: create "specialty_rules" table
DROP TABLE `specialty_rules`;
-- reverse: create index "sign_in_throttles_key_hash_key" to table: "sign_in_throttles"
DROP INDEX `sign_in_throttles_key_hash_key`;
-- reverse: create "sign_in_throttles" table
DROP TABLE `sign_in_throttles`;
-- reverse: create index "share_created_at_counted" to table: "shares"
DROP INDEX `share_created_at_counted`;
-- reverse: create index "share_grantee_organisation_id_revoked_at" to table: "shares"
DROP INDEX `share_grantee_organisation_id_revoked_at`;
-- reverse: create index "share_grantee_account_id_revoked_at" to table: "shares"
DROP INDEX `share_grantee_account_id_revoked_at`;
-- reverse: create index "share_patient_id_revoked_at" to table: "shares"
DROP INDEX `share_patient_id_revoked_at`;
-- reverse: create "shares" table
DROP TABLE `shares`;
-- reverse: create index "session_account_id_ended_at" to table: "sessions"
DROP INDEX `session_account_id_ended_at`;
-- reverse: create index "sessions_token_hash_key" to table: "sessions"
DROP INDEX `sessions_token_hash_key`;
-- reverse: create "sessions" table
DROP TABLE `sessions`;
-- reverse: create index "resultcomponent_result_id" to table: "result_components"
DROP INDEX `resultcomponent_result_id`;
-- reverse: create index "resultcomponent_patient_id_code" to table: "result_components"
DROP INDEX `resultcomponent_patient_id_code`;
-- reverse: create index "resultcomponent_source_organisa_83ff4d92333b9bb3af4f6efac23a0172" to table: "result_components"
DROP INDEX `resultcomponent_source_organisa_83ff4d92333b9bb3af4f6efac23a0172`;
-- reverse: create index "resultcomponent_patient_id_category" to table: "result_components"
DROP INDEX `resultcomponent_patient_id_category`;
-- reverse: create "result_components" table
DROP TABLE `result_components`;
-- reverse: create index "result_release_year_delay" to table: "results"
DROP INDEX `result_release_year_delay`;
-- reverse: create index "result_release_quarter_delay" to table: "results"
DROP INDEX `result_release_quarter_delay`;
-- reverse: create index "result_release_month_delay" to table: "results"
DROP INDEX `result_release_month_delay`;
-- reverse: create index "result_source_organisation_id_visible_from" to table: "results"
DROP INDEX `result_source_organisation_id_visible_from`;
-- reverse: create index "result_notify_at" to table: "results"
DROP INDEX `result_notify_at`;
-- reverse: create index "result_patient_id_reported_at" to table: "results"
DROP INDEX `result_patient_id_reported_at`;
-- reverse: create index "result_source_organisation_id_external_system_external_value" to table: "results"
DROP INDEX `result_source_organisation_id_external_system_external_value`;
-- reverse: create index "result_patient_id_category" to table: "results"
DROP INDEX `result_patient_id_category`;
-- reverse: create "results" table
DROP TABLE `results`;
-- reverse: create "research_studies" table
DROP TABLE `research_studies`;
-- reverse: create index "researchconsent_study_id_withdrawn_at" to table: "research_consents"
DROP INDEX `researchconsent_study_id_withdrawn_at`;
-- reverse: create index "researchconsent_patient_id_study_id" to table: "research_consents"
DROP INDEX `researchconsent_patient_id_study_id`;
-- reverse: create "research_consents" table
DROP TABLE `research_consents`;
-- reverse: create index "patientorganisation_organisation_id_patient_id" to table: "patient_organisations"
DROP INDEX `patientorganisation_organisation_id_patient_id`;
-- reverse: create index "patientorganisation_organisation_id_local_identifier" to table: "patient_organisations"
DROP INDEX `patientorganisation_organisation_id_local_identifier`;
-- reverse: create "patient_organisations" table
DROP TABLE `patient_organisations`;
-- reverse: create index "patientactivity_organisation_id_60d192d7a7f082639b62042101e2c35e" to table: "patient_activities"
DROP INDEX `patientactivity_organisation_id_60d192d7a7f082639b62042101e2c35e`;
-- reverse: create index "patientactivity_patient_id_organisation_id_period_starts_at" to table: "patient_activities"
DROP INDEX `patientactivity_patient_id_organisation_id_period_starts_at`;
-- reverse: create "patient_activities" table
DROP TABLE `patient_activities`;
-- reverse: create index "patient_family_name_date_of_birth" to table: "patients"
DROP INDEX `patient_family_name_date_of_birth`;
-- reverse: create index "patients_account_id_key" to table: "patients"
DROP INDEX `patients_account_id_key`;
-- reverse: create index "patients_nhs_number_key" to table: "patients"
DROP INDEX `patients_nhs_number_key`;
-- reverse: create "patients" table
DROP TABLE `patients`;
-- reverse: create index "organisations_ods_code_key" to table: "organisations"
DROP INDEX `organisations_ods_code_key`;
-- reverse: create "organisations" table
DROP TABLE `organisations`;
-- reverse: create index "oidc_logins_state_hash_key" to table: "oidc_logins"
DROP INDEX `oidc_logins_state_hash_key`;
-- reverse: create "oidc_logins" table
DROP TABLE `oidc_logins`;
-- reverse: create index "notification_reminder_due_at" to table: "notifications"
DROP INDEX `notification_reminder_due_at`;
-- reverse: create index "notification_email_due_at" to table: "notifications"
DROP INDEX `notification_email_due_at`;
-- reverse: create index "notification_patient_id_category" to table: "notifications"
DROP INDEX `notification_patient_id_category`;
-- reverse: create index "notification_recipient_account_id_created_at" to table: "notifications"
DROP INDEX `notification_recipient_account_id_created_at`;
-- reverse: create "notifications" table
DROP TABLE `notifications`;
-- reverse: create index "membership_organisation_id_role" to table: "memberships"
DROP INDEX `membership_organisation_id_role`;
-- reverse: create index "membership_account_id_organisation_id_role" to table: "memberships"
DROP INDEX `membership_account_id_organisation_id_role`;
-- reverse: create "memberships" table
DROP TABLE `memberships`;
-- reverse: create index "measurementrollup_patient_id_ty_49b5ce0cc311faf516e466b3a5f68f5a" to table: "measurement_rollups"
DROP INDEX `measurementrollup_patient_id_ty_49b5ce0cc311faf516e466b3a5f68f5a`;
-- reverse: create index "measurementrollup_patient_id_type_hour_category" to table: "measurement_rollups"
DROP INDEX `measurementrollup_patient_id_type_hour_category`;
-- reverse: create "measurement_rollups" table
DROP TABLE `measurement_rollups`;
-- reverse: create index "measurement_patient_id_type_measured_at_device" to table: "measurements"
DROP INDEX `measurement_patient_id_type_measured_at_device`;
-- reverse: create index "measurement_source_organisation_697dbfb0b23dc3b3d6d79eb666f0f0b0" to table: "measurements"
DROP INDEX `measurement_source_organisation_697dbfb0b23dc3b3d6d79eb666f0f0b0`;
-- reverse: create index "measurement_patient_id_category" to table: "measurements"
DROP INDEX `measurement_patient_id_category`;
-- reverse: create "measurements" table
DROP TABLE `measurements`;
-- reverse: create index "mailmessage_sent_at_abandoned_at_next_attempt_at" to table: "mail_messages"
DROP INDEX `mailmessage_sent_at_abandoned_at_next_attempt_at`;
-- reverse: create "mail_messages" table
DROP TABLE `mail_messages`;
-- reverse: create index "letterread_letter_id_account_id" to table: "letter_reads"
DROP INDEX `letterread_letter_id_account_id`;
-- reverse: create index "letterread_patient_id_account_id" to table: "letter_reads"
DROP INDEX `letterread_patient_id_account_id`;
-- reverse: create "letter_reads" table
DROP TABLE `letter_reads`;
-- reverse: create index "letter_source_organisation_id_sent_at_read_at" to table: "letters"
DROP INDEX `letter_source_organisation_id_sent_at_read_at`;
-- reverse: create index "letter_patient_id_sent_at" to table: "letters"
DROP INDEX `letter_patient_id_sent_at`;
-- reverse: create index "letter_source_organisation_id_external_system_external_value" to table: "letters"
DROP INDEX `letter_source_organisation_id_external_system_external_value`;
-- reverse: create index "letter_patient_id_category" to table: "letters"
DROP INDEX `letter_patient_id_category`;
-- reverse: create "letters" table
DROP TABLE `letters`;
-- reverse: create index "journalentry_patient_id_written_at" to table: "journal_entries"
DROP INDEX `journalentry_patient_id_written_at`;
-- reverse: create index "journalentry_source_organisatio_dbb9809f05f35083aac5708bff207cab" to table: "journal_entries"
DROP INDEX `journalentry_source_organisatio_dbb9809f05f35083aac5708bff207cab`;
-- reverse: create index "journalentry_patient_id_category" to table: "journal_entries"
DROP INDEX `journalentry_patient_id_category`;
-- reverse: create "journal_entries" table
DROP TABLE `journal_entries`;
-- reverse: create index "invitation_registered_patients" to table: "invitations"
DROP INDEX `invitation_registered_patients`;
-- reverse: create index "invitation_organisation_id_purpose_accepted_at_patient_id" to table: "invitations"
DROP INDEX `invitation_organisation_id_purpose_accepted_at_patient_id`;
-- reverse: create index "invitation_organisation_id_purpose_created_at" to table: "invitations"
DROP INDEX `invitation_organisation_id_purpose_created_at`;
-- reverse: create index "invitation_email" to table: "invitations"
DROP INDEX `invitation_email`;
-- reverse: create index "invitation_patient_id_created_at" to table: "invitations"
DROP INDEX `invitation_patient_id_created_at`;
-- reverse: create index "invitations_token_hash_key" to table: "invitations"
DROP INDEX `invitations_token_hash_key`;
-- reverse: create "invitations" table
DROP TABLE `invitations`;
-- reverse: create index "importreport_api_key_id_received_at" to table: "import_reports"
DROP INDEX `importreport_api_key_id_received_at`;
-- reverse: create "import_reports" table
DROP TABLE `import_reports`;
-- reverse: create index "encounter_patient_id_started_at" to table: "encounters"
DROP INDEX `encounter_patient_id_started_at`;
-- reverse: create index "encounter_source_organisation_id_external_system_external_value" to table: "encounters"
DROP INDEX `encounter_source_organisation_id_external_system_external_value`;
-- reverse: create index "encounter_patient_id_category" to table: "encounters"
DROP INDEX `encounter_patient_id_category`;
-- reverse: create "encounters" table
DROP TABLE `encounters`;
-- reverse: create index "emailchange_account_id" to table: "email_changes"
DROP INDEX `emailchange_account_id`;
-- reverse: create index "email_changes_token_hash_key" to table: "email_changes"
DROP INDEX `email_changes_token_hash_key`;
-- reverse: create "email_changes" table
DROP TABLE `email_changes`;
-- reverse: create index "directoryentry_organisation_id_resource_type_fhir_id" to table: "directory_entries"
DROP INDEX `directoryentry_organisation_id_resource_type_fhir_id`;
-- reverse: create index "directoryentry_organisation_id_resource_type_source" to table: "directory_entries"
DROP INDEX `directoryentry_organisation_id_resource_type_source`;
-- reverse: create "directory_entries" table
DROP TABLE `directory_entries`;
-- reverse: create index "contactpreference_patient_id_organisation_id" to table: "contact_preferences"
DROP INDEX `contactpreference_patient_id_organisation_id`;
-- reverse: create "contact_preferences" table
DROP TABLE `contact_preferences`;
-- reverse: create index "careresource_patient_id_assigned_at" to table: "care_resources"
DROP INDEX `careresource_patient_id_assigned_at`;
-- reverse: create index "careresource_source_organisatio_c42b53b03c0e108b34a4270b81e8dd58" to table: "care_resources"
DROP INDEX `careresource_source_organisatio_c42b53b03c0e108b34a4270b81e8dd58`;
-- reverse: create index "careresource_patient_id_category" to table: "care_resources"
DROP INDEX `careresource_patient_id_category`;
-- reverse: create "care_resources" table
DROP TABLE `care_resources`;
-- reverse: create index "breakglass_account_id_expires_at" to table: "break_glasses"
DROP INDEX `breakglass_account_id_expires_at`;
-- reverse: create index "breakglass_patient_id_started_at" to table: "break_glasses"
DROP INDEX `breakglass_patient_id_started_at`;
-- reverse: create "break_glasses" table
DROP TABLE `break_glasses`;
-- reverse: create index "auditevent_actor_organisation_id_at" to table: "audit_events"
DROP INDEX `auditevent_actor_organisation_id_at`;
-- reverse: create index "auditevent_actor_account_id_at" to table: "audit_events"
DROP INDEX `auditevent_actor_account_id_at`;
-- reverse: create index "auditevent_patient_id_at" to table: "audit_events"
DROP INDEX `auditevent_patient_id_at`;
-- reverse: create "audit_events" table
DROP TABLE `audit_events`;
-- reverse: create index "appointmentchangerequest_source_organisation_id_status" to table: "appointment_change_requests"
DROP INDEX `appointmentchangerequest_source_organisation_id_status`;
-- reverse: create index "appointmentchangerequest_appointment_id" to table: "appointment_change_requests"
DROP INDEX `appointmentchangerequest_appointment_id`;
-- reverse: create index "appointmentchangerequest_source_9c4896ac25a5e0d498941b00157551a3" to table: "appointment_change_requests"
DROP INDEX `appointmentchangerequest_source_9c4896ac25a5e0d498941b00157551a3`;
-- reverse: create index "appointmentchangerequest_patient_id_category" to table: "appointment_change_requests"
DROP INDEX `appointmentchangerequest_patient_id_category`;
-- reverse: create "appointment_change_requests" table
DROP TABLE `appointment_change_requests`;
-- reverse: create index "appointment_source_organisation_id_status_specialty_starts_at" to table: "appointments"
DROP INDEX `appointment_source_organisation_id_status_specialty_starts_at`;
-- reverse: create index "appointment_patient_id_starts_at" to table: "appointments"
DROP INDEX `appointment_patient_id_starts_at`;
-- reverse: create index "appointment_source_organisation_0a9063b7befeb2dca8d76cffbf9213a1" to table: "appointments"
DROP INDEX `appointment_source_organisation_0a9063b7befeb2dca8d76cffbf9213a1`;
-- reverse: create index "appointment_patient_id_category" to table: "appointments"
DROP INDEX `appointment_patient_id_category`;
-- reverse: create "appointments" table
DROP TABLE `appointments`;
-- reverse: create index "allergy_patient_id_recorded_at" to table: "allergies"
DROP INDEX `allergy_patient_id_recorded_at`;
-- reverse: create index "allergy_source_organisation_id_external_system_external_value" to table: "allergies"
DROP INDEX `allergy_source_organisation_id_external_system_external_value`;
-- reverse: create index "allergy_patient_id_category" to table: "allergies"
DROP INDEX `allergy_patient_id_category`;
-- reverse: create "allergies" table
DROP TABLE `allergies`;
-- reverse: create index "accounts_oidc_subject_key" to table: "accounts"
DROP INDEX `accounts_oidc_subject_key`;
-- reverse: create index "accounts_email_key" to table: "accounts"
DROP INDEX `accounts_email_key`;
-- reverse: create "accounts" table
DROP TABLE `accounts`;
-- reverse: create index "apikey_organisation_id" to table: "api_keys"
DROP INDEX `apikey_organisation_id`;
-- reverse: create index "api_keys_key_hash_key" to table: "api_keys"
DROP INDEX `api_keys_key_hash_key`;
-- reverse: create "api_keys" table
DROP TABLE `api_keys`;
