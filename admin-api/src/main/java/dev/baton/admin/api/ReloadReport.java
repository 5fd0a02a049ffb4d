package dev.baton.admin.api;

import java.util.List;

/**
 * {@code POST /api/v1/reload}'s answer: Baton read its config file again and applied what changed (HTTP 200), or
 * refused the whole file and kept running as before (HTTP 409, with {@code error} saying why).
 *
 * @param file    the config file Baton was started with and read again
 * @param changed what the reload changed, each naming its key, with old and new value unless it is a secret
 *                ({@code quotas.per-client 50 -> 60}, {@code admin.token}); empty when refused or nothing changed
 * @param refused why the file was not applied: each change that needs a restart, or the file's one-line error;
 *                empty when applied
 * @param error   null when applied; otherwise one line saying the reload was refused and why
 */
public record ReloadReport(String file, List<String> changed, List<String> refused, String error) {
}
