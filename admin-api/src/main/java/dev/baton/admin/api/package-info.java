/**
 * What the admin API and the {@code baton} command say to each other: request and answer records, their JSON
 * ({@link dev.baton.admin.api.AdminJson}) and durations ({@link dev.baton.admin.api.Durations}). Both sides compile
 * against these, so a key is named once.
 */
package dev.baton.admin.api;
